// Which per-person score should the matcher use: the best reference ('max') or the mean of the two
// best ('top2mean')? Measured on lfw-subset (10 people × 10 photos) with the real pipeline:
//   npx tsx bench/aggregate-eval.ts [refsPerPerson=3] [splits=40] [set=lfw-subset]
// Each split enrols `refsPerPerson` random photos per person (flip-augmented, as enrolment does) and
// queries with the others (plain embedding, as camera frames are). Reports rank-1 identification,
// verification EER over person-level genuine/impostor scores, TAR at 1 % FAR and the separation d'
// (difference of genuine and impostor means over their pooled standard deviation).
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FacePipeline } from '../src/main/inference/pipeline'
import { rng } from '../src/main/gallery/synthetic'
import { Matcher, type Aggregate } from '../src/main/gallery/matcher'
import type { MatcherReference } from '../src/main/contracts'

const THRESHOLDS = { accept: 0.5, review: 0.35 }
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const data = process.env.VIGIL_DATA ? resolve(process.env.VIGIL_DATA) : resolve(repoRoot, '../shared/data')

interface Photo {
  person: string
  file: string
  ref: Float32Array
  query: Float32Array
}

function dprime(g: number[], im: number[]): number {
  const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length
  const varOf = (a: number[], m: number): number => a.reduce((x, y) => x + (y - m) ** 2, 0) / a.length
  const mg = mean(g)
  const mi = mean(im)
  return (mg - mi) / Math.sqrt((varOf(g, mg) + varOf(im, mi)) / 2)
}

function eer(genuine: number[], impostor: number[]): { eer: number; tarAt1: number } {
  const g = [...genuine].sort((a, b) => a - b)
  const im = [...impostor].sort((a, b) => b - a)
  const thr1 = im[Math.max(0, Math.floor(im.length * 0.01) - 1)]
  const tarAt1 = g.filter((x) => x > thr1).length / g.length
  let best = 1
  for (const t of [...g, ...im]) {
    const frr = g.filter((x) => x < t).length / g.length
    const far = im.filter((x) => x >= t).length / im.length
    best = Math.min(best, Math.max(frr, far))
  }
  return { eer: best, tarAt1 }
}

async function main(): Promise<void> {
  const refsPer = Number(process.argv[2] ?? 3)
  const splits = Number(process.argv[3] ?? 40)
  const set = process.argv[4] ?? 'lfw-subset'
  const root = join(data, set)
  if (!existsSync(root)) {
    console.error(`no test data at ${root} (set VIGIL_DATA)`)
    process.exit(2)
  }
  const pipe = await FacePipeline.create()
  const photos: Photo[] = []
  for (const person of (await readdir(root)).sort()) {
    for (const f of (await readdir(join(root, person))).sort()) {
      const bytes = await readFile(join(root, person, f))
      const a = await pipe.analyzeEncoded(bytes, { flipAugment: true, maxFaces: 1 })
      const b = await pipe.analyzeEncoded(bytes, { maxFaces: 1 })
      const ra = a.faces[0]?.embedding
      const rb = b.faces[0]?.embedding
      if (ra && rb) photos.push({ person, file: f, ref: ra, query: rb })
      else console.warn(`no face in ${person}/${f}`)
    }
  }
  await pipe.close()
  const people = [...new Set(photos.map((p) => p.person))]
  const result: Record<string, unknown> = {
    set,
    photos: photos.length,
    people: people.length,
    refsPerPerson: refsPer,
    splits
  }
  for (const aggregate of ['max', 'top2mean'] as Aggregate[]) {
    const r = rng(7)
    let correct = 0
    let total = 0
    const genuine: number[] = []
    const impostor: number[] = []
    // bands at the default thresholds: enrolled people should be 'match', strangers 'unknown'
    const enrolledBands = { match: 0, review: 0, unknown: 0 }
    const strangerBands = { match: 0, review: 0, unknown: 0 }
    for (let s = 0; s < splits; s++) {
      const refs: MatcherReference[] = []
      const queries: Photo[] = []
      // one person per split is left out of the gallery and plays the stranger
      const stranger = people[s % people.length]
      for (const person of people) {
        const mine = photos.filter((p) => p.person === person)
        const order = mine
          .map((p) => ({ p, k: r() }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.p)
        if (person !== stranger) {
          order
            .slice(0, refsPer)
            .forEach((p) =>
              refs.push({ personId: person, name: person, photoId: p.file, embedding: p.ref, threshold: null })
            )
        }
        queries.push(...order.slice(refsPer))
      }
      const m = new Matcher({ aggregate })
      m.setReferences(refs)
      for (const q of queries) {
        const res = m.match(q.query, THRESHOLDS, people.length)
        if (q.person === stranger) {
          strangerBands[res.band]++
          continue
        }
        enrolledBands[res.band]++
        total++
        if (res.candidates[0]?.personId === q.person) correct++
        for (const c of res.candidates) (c.personId === q.person ? genuine : impostor).push(c.score)
      }
    }
    const v = eer(genuine, impostor)
    result[aggregate] = {
      rank1: +(correct / total).toFixed(4),
      eer: +v.eer.toFixed(4),
      tarAtFar1pct: +v.tarAt1.toFixed(4),
      dprime: +dprime(genuine, impostor).toFixed(3),
      enrolledBands,
      strangerBands
    }
  }
  console.log(JSON.stringify(result, null, 2))
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
