// The face-memory modes of `npm run eval`:
//   --cluster <dir>   every image's face, in a fixed shuffled order, through the live stranger
//                     clustering without the labels; scored against the folders
//   --open-set <dir>  identities sorted by folder name; those at even positions are enrolled with
//                     their first photo through the app's Gallery (same checks, same matcher);
//                     every other photo is a probe decided with the app's default thresholds and
//                     open-set rule
// Both print a summary and, as the last line, one JSON object.
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import type { FacePipeline } from '../inference/pipeline'
import { Gallery } from '../gallery/gallery'
import { effectiveThresholds } from '../gallery/open-set'
import { silentLogger } from '../log/logger'
import { clusterOnline, DEFAULT_CLUSTER, scoreClustering } from '../memory/cluster'
import { MediaStore } from '../store/media'
import { DEFAULT_SETTINGS } from '../store/schema'
import { openSqlStore } from '../store/sql-store'
import { decideTrack } from '../tracking/pooling'
import { listPersonFolders, round } from './common'
import { pickMainFace } from './main-face'

interface Face {
  file: string
  person: string
  embedding: Float32Array
  quality: number
}

/** Deterministic shuffle (mulberry32): strangers arrive interleaved on a camera, not person by person. */
function shuffled<T>(xs: readonly T[], seed = 42): T[] {
  let a = seed >>> 0
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

async function facesOf(p: FacePipeline, dir: string): Promise<{ images: number; faces: Face[] }> {
  const people = await listPersonFolders(dir)
  const faces: Face[] = []
  let images = 0
  for (const person of people) {
    for (const file of person.files) {
      images++
      const res = await p.analyzeEncoded(await readFile(file)).catch((err: unknown) => {
        console.warn(`  ${file}: ${(err as Error).message}`)
        return null
      })
      const main = res ? pickMainFace(res) : null
      if (main?.embedding)
        faces.push({ file, person: person.person, embedding: main.embedding, quality: main.quality.score })
      else if (res) console.warn(`  ${file}: no face found`)
    }
  }
  return { images, faces }
}

export async function evalCluster(p: FacePipeline, dir: string, join: number | null): Promise<void> {
  const opts = { ...DEFAULT_CLUSTER, ...(join === null ? {} : { joinAt: join }) }
  const { images, faces } = await facesOf(p, dir)
  const order = shuffled(faces)
  const labels = clusterOnline(
    order.map((f) => ({ embedding: f.embedding, quality: f.quality })),
    opts
  )
  const s = scoreClustering(
    labels,
    order.map((f) => f.person)
  )
  const clusters = new Set(labels).size
  const people = new Set(faces.map((f) => f.person)).size
  console.log(`cluster: ${images} images, ${faces.length} faces of ${people} people in ${resolve(dir)}`)
  console.log(`join threshold ${opts.joinAt}: ${clusters} clusters`)
  console.log(
    `pairwise precision ${s.pairwisePrecision.toFixed(4)} recall ${s.pairwiseRecall.toFixed(4)}; ` +
      `B-cubed precision ${s.bcubedPrecision.toFixed(4)} recall ${s.bcubedRecall.toFixed(4)} F ${s.bcubedF.toFixed(4)}`
  )
  console.log(
    JSON.stringify({
      images,
      facesFound: faces.length,
      clusters,
      pairwisePrecision: round(s.pairwisePrecision, 4),
      pairwiseRecall: round(s.pairwiseRecall, 4),
      bcubedF: round(s.bcubedF, 4)
    })
  )
}

export async function evalOpenSet(p: FacePipeline, dir: string): Promise<void> {
  const people = await listPersonFolders(dir)
  const tmp = await mkdtemp(join(tmpdir(), 'vigil-openset-'))
  const store = await openSqlStore({ dataDir: tmp })
  try {
    const settings = structuredClone(DEFAULT_SETTINGS)
    const gallery = new Gallery(store.gallery, new MediaStore(tmp), p, () => settings, { logger: silentLogger })
    await gallery.load()
    const enrolled = new Map<string, string>()
    const probes: { file: string; person: string }[] = []
    for (const [i, folder] of people.entries()) {
      if (i % 2 !== 0) {
        probes.push(...folder.files.map((file) => ({ file, person: folder.person })))
        continue
      }
      const person = await gallery.create({ name: folder.person })
      // the first photo the enrolment gate accepts; refused ones are neither references nor probes
      let rest = [...folder.files]
      while (rest.length) {
        const file = rest.shift()!
        const r = await gallery.addPhoto({
          personId: person.id,
          fileName: basename(file),
          dataBase64: (await readFile(file)).toString('base64')
        })
        if (r.ok) break
        console.warn(`  enrol ${file}: ${r.message}`)
      }
      enrolled.set(person.id, folder.person)
      probes.push(...rest.map((file) => ({ file, person: folder.person })))
      rest = []
    }
    const matcher = gallery.matcher()
    const thresholds = settings.thresholds
    const eff = effectiveThresholds(thresholds, matcher.personCount)
    const c = { correctMatch: 0, wrongMatch: 0, strangerNamed: 0, review: 0, genuineReview: 0, unknown: 0, noFace: 0 }
    let genuineProbes = 0
    for (const probe of probes) {
      const genuine = [...enrolled.values()].includes(probe.person)
      if (genuine) genuineProbes++
      const res = await p.analyzeEncoded(await readFile(probe.file))
      const main = pickMainFace(res)
      if (!main?.embedding) {
        c.noFace++
        c.unknown++
        continue
      }
      // one face is a track of one: the same pooled decision and rules as live
      const d = decideTrack([{ embedding: main.embedding, quality: main.quality }], (e) =>
        matcher.match(e, thresholds, 3)
      )
      const who = d?.candidates[0] ? enrolled.get(d.candidates[0].personId) : undefined
      if (!d || d.band === 'unknown') c.unknown++
      else if (d.band === 'review') {
        c.review++
        if (genuine) c.genuineReview++
      } else if (!genuine) c.strangerNamed++
      else if (who === probe.person) c.correctMatch++
      else c.wrongMatch++
    }
    console.log(
      `open set: ${people.length} identities, ${enrolled.size} enrolled (1 photo each), ${probes.length} probes ` +
        `(${genuineProbes} of enrolled people, ${probes.length - genuineProbes} strangers)`
    )
    console.log(
      `effective thresholds for ${matcher.personCount} people: accept ${eff.accept.toFixed(3)} (configured ${thresholds.accept}), review ${eff.review.toFixed(3)}`
    )
    console.log(
      `correct ${c.correctMatch}, wrong name ${c.wrongMatch}, stranger named ${c.strangerNamed}, review ${c.review} ` +
        `(${c.genuineReview} genuine), unknown ${c.unknown} (${c.noFace} without a face); ` +
        `(correct + genuine review) / genuine = ${((c.correctMatch + c.genuineReview) / Math.max(1, genuineProbes)).toFixed(3)}`
    )
    console.log(
      JSON.stringify({
        probes: probes.length,
        genuineProbes,
        strangerProbes: probes.length - genuineProbes,
        correctMatch: c.correctMatch,
        wrongMatch: c.wrongMatch,
        strangerNamed: c.strangerNamed,
        review: c.review,
        unknown: c.unknown,
        genuineReview: c.genuineReview,
        acceptThreshold: round(eff.accept, 4)
      })
    )
  } finally {
    await store.close()
    await rm(tmp, { recursive: true, force: true })
  }
}
