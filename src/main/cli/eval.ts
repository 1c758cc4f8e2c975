// `npm run eval -- <dir>`           folder-per-person verification / identification accuracy
// `npm run eval -- --pairs <csv>`   accuracy on listed pairs (header a,b,same; paths relative to the CSV)
// Prints a human summary, calibration hints for the accept/review thresholds, and as the LAST line
// one JSON object for scripts. An image where no face is found is a wrong answer, never skipped.
import { readFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import type { AnalyzeResult } from '../contracts'
import type { ExecutionProvider } from '../../shared/types'
import {
  accuracyOf,
  bestThreshold,
  confusionAt,
  dPrime,
  f1Of,
  nearestNeighbourAccuracy,
  percentile,
  rocAuc,
  thresholdForFalseAcceptRate,
  thresholdForTrueAcceptRate
} from '../inference/metrics'
import { DEFAULT_TUNING, FacePipeline, type PipelineTuning } from '../inference/pipeline'
import { dot } from '../math/vector'
import {
  listPersonFolders,
  parseCli,
  parseCsv,
  positiveInt,
  providerArg,
  round,
  runCli,
  str,
  UsageError
} from './common'
import { evalCluster, evalOpenSet } from './eval-memory'
import { pickMainFace } from './main-face'

const USAGE = `usage:
  npm run eval -- <dir>                 one sub-folder of photos per person
  npm run eval -- --pairs <file.csv>    CSV with header a,b,same (paths relative to the CSV)
  npm run eval -- --cluster <dir>       cluster every face without the labels (live stranger groups), score vs folders
  npm run eval -- --open-set <dir>      enrol every other identity, decide all other photos with the app's rules
options:
  --join <sim>         --cluster: override the join threshold (calibration)
  --flip               also embed the mirrored crop and average (slower; default off, as in the app)
  --no-flip            the default
  --provider <p>       cpu | cuda | dml | coreml (default cpu, falls back to cpu)
  --threads <n>        onnxruntime intra-op threads (default 1)
  --tune key=value     override a PipelineTuning field (experiments), may repeat`

interface Args {
  dir: string | null
  pairs: string | null
  mode: 'folders' | 'cluster' | 'open-set'
  join: number | null
  flip: boolean
  provider: ExecutionProvider
  threads: number
  tuning: Partial<PipelineTuning>
}

function parseEvalArgs(argv: string[]): Args {
  const { values, positionals } = parseCli(
    argv,
    {
      pairs: { type: 'string' },
      cluster: { type: 'string' },
      'open-set': { type: 'string' },
      join: { type: 'string' },
      'no-flip': { type: 'boolean' },
      flip: { type: 'boolean' },
      provider: { type: 'string' },
      threads: { type: 'string' },
      tune: { type: 'string', multiple: true }
    },
    USAGE
  )
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}\n${USAGE}`)
  const tuning: Record<string, unknown> = {}
  for (const t of Array.isArray(values.tune) ? values.tune : []) {
    const [k, v] = String(t).split('=')
    if (k === undefined || !(k in DEFAULT_TUNING) || v === undefined)
      throw new UsageError(`--tune: unknown field ${k}; fields: ${Object.keys(DEFAULT_TUNING).join(', ')}`)
    const def = DEFAULT_TUNING[k as keyof PipelineTuning]
    tuning[k] = typeof def === 'number' ? Number(v) : typeof def === 'boolean' ? v === 'true' : v
  }
  const a: Args = {
    dir: str(values.cluster) ?? str(values['open-set']) ?? positionals[0] ?? null,
    mode: values.cluster !== undefined ? 'cluster' : values['open-set'] !== undefined ? 'open-set' : 'folders',
    join: values.join === undefined ? null : Number(values.join),
    pairs: str(values.pairs) ?? null,
    flip: values.flip === true && values['no-flip'] !== true,
    provider: providerArg(str(values.provider), USAGE),
    threads: values.threads === undefined ? 1 : positiveInt('threads', str(values.threads), USAGE),
    tuning: tuning as Partial<PipelineTuning>
  }
  if (a.join !== null && !(a.join > -1 && a.join < 1))
    throw new UsageError('--join needs a similarity between -1 and 1')
  if (!a.dir && !a.pairs) throw new UsageError(USAGE)
  if (a.dir && a.pairs) throw new UsageError(`give either a directory or --pairs, not both\n${USAGE}`)
  return a
}

export { pickMainFace }

interface Analysed {
  file: string
  embedding: Float32Array | null
  faces: number
  ms: number
  timings: AnalyzeResult['timings']
  modelMs: number
  error: string | null
}

async function analyseAll(p: FacePipeline, files: string[], flip: boolean, base: string): Promise<Analysed[]> {
  const out: Analysed[] = []
  for (const file of files) {
    const bytes = await readFile(file)
    const t0 = performance.now()
    try {
      const res = await p.analyzeEncoded(bytes, { flipAugment: flip })
      const ms = performance.now() - t0
      const main = pickMainFace(res)
      out.push({
        file,
        embedding: main?.embedding ?? null,
        faces: res.faces.length,
        ms,
        timings: res.timings,
        modelMs: res.modelMs,
        error: null
      })
    } catch (err) {
      const ms = performance.now() - t0
      out.push({ file, embedding: null, faces: 0, ms, timings: {}, modelMs: 0, error: (err as Error).message })
    }
    const last = out[out.length - 1]
    if (last.error) console.warn(`  ${relative(base, file)}: ${last.error} (counted as a wrong answer)`)
    else if (!last.embedding) console.warn(`  ${relative(base, file)}: no face found (counted as a wrong answer)`)
  }
  return out
}

/** similarity of a pair; pairs with a missing face score so that every threshold gets them wrong */
function pairScore(a: Float32Array | null, b: Float32Array | null, same: boolean): number {
  if (!a || !b) return same ? -Infinity : Infinity
  return dot(a, b)
}

function fmt(v: number, d = 3): string {
  return Number.isFinite(v) ? v.toFixed(d) : String(v)
}

function printTimings(items: Analysed[]): void {
  const ok = items.filter((i) => !i.error)
  const faces = ok.reduce((s, i) => s + i.faces, 0)
  const stages = ['decode', 'detect', 'landmarks', 'align', 'quality', 'embed'] as const
  const parts = stages.map((s) => {
    const total = ok.reduce((acc, i) => acc + (i.timings[s] ?? 0), 0)
    const perFace = s === 'decode' || s === 'detect' ? total / Math.max(1, ok.length) : total / Math.max(1, faces)
    return `${s} ${perFace.toFixed(1)}`
  })
  const model = ok.reduce((acc, i) => acc + i.modelMs, 0) / Math.max(1, ok.length)
  console.log(
    `timing (ms; decode/detect per image, others per face): ${parts.join(', ')}; model time ${model.toFixed(1)} per image`
  )
}

function printCalibration(genuine: number[], impostor: number[]): void {
  const g = genuine.filter(Number.isFinite)
  const im = impostor.filter(Number.isFinite)
  if (!g.length || !im.length) return
  console.log('similarity distribution (cosine):')
  console.log(
    `  genuine  n=${g.length}: min ${fmt(Math.min(...g))}  p1 ${fmt(percentile(g, 1))}  p5 ${fmt(percentile(g, 5))}  median ${fmt(percentile(g, 50))}  max ${fmt(Math.max(...g))}`
  )
  console.log(
    `  impostor n=${im.length}: min ${fmt(Math.min(...im))}  median ${fmt(percentile(im, 50))}  p99 ${fmt(percentile(im, 99))}  p99.9 ${fmt(percentile(im, 99.9))}  max ${fmt(Math.max(...im))}`
  )
  console.log(
    `  separation d′ ${fmt(dPrime(g, im), 2)}, margin (genuine min − impostor max) ${fmt(Math.min(...g) - Math.max(...im))}`
  )
  const accept = thresholdForFalseAcceptRate(im, 0)
  // Review exists to catch the genuine pairs that fall below accept; if accept alone already
  // keeps 99 % of them, review still has to sit some distance lower to be of any use.
  const review = Math.min(thresholdForTrueAcceptRate(g, 0.99), Math.round((accept - 0.05) * 200) / 200)
  const ca = confusionAt(g, im, accept)
  const cr = confusionAt(g, im, review)
  console.log('suggested thresholds (on this set; re-run on your own people before relying on them):')
  console.log(
    `  accept ${accept.toFixed(3)}  (no impostor pair at or above it; catches ${((100 * ca.tp) / g.length).toFixed(1)}% of genuine pairs)`
  )
  console.log(
    `  review ${review.toFixed(3)}  (catches ${((100 * cr.tp) / g.length).toFixed(1)}% of genuine pairs; ${((100 * cr.fp) / im.length).toFixed(2)}% of impostor pairs reach review)`
  )
}

async function evalFolders(p: FacePipeline, dir: string, flip: boolean): Promise<void> {
  const people = await listPersonFolders(dir)
  const files = people.flatMap((x) => x.files)
  const labels = people.flatMap((x) => x.files.map(() => x.person))
  console.log(`eval: ${files.length} images of ${people.length} people in ${resolve(dir)}`)
  console.log(`provider ${p.provider}, flip augment ${flip ? 'on' : 'off'}`)
  const t0 = performance.now()
  const items = await analyseAll(p, files, flip, resolve(dir))
  const wall = performance.now() - t0
  const genuine: number[] = []
  const impostor: number[] = []
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const same = labels[i] === labels[j]
      ;(same ? genuine : impostor).push(pairScore(items[i].embedding, items[j].embedding, same))
    }
  }
  const best = bestThreshold(genuine, impostor)
  const auc = rocAuc(genuine, impostor)
  const nn = nearestNeighbourAccuracy(
    items.map((i) => i.embedding),
    labels
  )
  const facesFound = items.filter((i) => i.embedding).length
  const pairs = genuine.length + impostor.length
  console.log(`faces found in ${facesFound}/${items.length} images`)
  console.log(
    `pairs ${pairs} (${genuine.length} genuine, ${impostor.length} impostor): best accuracy ${fmt(best.accuracy, 4)} at threshold ${fmt(best.threshold, 4)} ` +
      `(${best.fp} false accepts, ${best.fn} false rejects), F1 ${fmt(f1Of(best), 4)}, ROC AUC ${fmt(auc, 5)}`
  )
  console.log(`leave-one-out nearest neighbour: ${fmt(nn, 4)}`)
  printCalibration(genuine, impostor)
  printTimings(items)
  const msPerImage = wall / items.length
  console.log(`${msPerImage.toFixed(1)} ms per image (decode + full pipeline, one in-process pipeline, 1 thread)`)
  console.log(
    JSON.stringify({
      images: items.length,
      facesFound,
      pairs,
      pairAccuracy: round(best.accuracy, 6),
      threshold: round(best.threshold, 4),
      f1: round(f1Of(best), 6),
      auc: round(auc, 6),
      nnAccuracy: round(nn, 6),
      msPerImage: round(msPerImage, 1)
    })
  )
}

function parseSame(v: string, line: number): boolean {
  const s = v.trim().toLowerCase()
  if (['1', 'true', 'yes', 'same', 'y'].includes(s)) return true
  if (['0', 'false', 'no', 'different', 'n'].includes(s)) return false
  throw new UsageError(`pairs CSV line ${line}: "same" must be 1/0, true/false or yes/no, got "${v}"`)
}

async function evalPairs(p: FacePipeline, csvPath: string, flip: boolean): Promise<void> {
  const abs = resolve(csvPath)
  const text = await readFile(abs, 'utf8').catch(() => {
    throw new UsageError(`cannot read ${abs}`)
  })
  const rows = parseCsv(text)
  const header = (rows.shift() ?? []).map((h) => h.trim().toLowerCase())
  const ia = header.indexOf('a')
  const ib = header.indexOf('b')
  const is = header.indexOf('same')
  if (ia < 0 || ib < 0 || is < 0)
    throw new UsageError(`${abs}: the header must name the columns a,b,same (got ${header.join(',') || 'nothing'})`)
  if (rows.length === 0) throw new UsageError(`${abs} has a header but no pairs`)
  const base = dirname(abs)
  const pairs = rows.map((r, k) => {
    const line = k + 2
    if (r.length < header.length)
      throw new UsageError(`pairs CSV line ${line}: expected ${header.length} fields, got ${r.length}`)
    if (!r[ia].trim() || !r[ib].trim()) throw new UsageError(`pairs CSV line ${line}: empty image path`)
    return { a: resolve(base, r[ia].trim()), b: resolve(base, r[ib].trim()), same: parseSame(r[is], line) }
  })
  const unique = [...new Set(pairs.flatMap((x) => [x.a, x.b]))]
  const unreadable: string[] = []
  for (const f of unique) await readFile(f).catch(() => unreadable.push(relative(base, f)))
  if (unreadable.length) {
    throw new UsageError(
      `${unreadable.length} image(s) listed in ${abs} cannot be read: ${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}`
    )
  }
  console.log(`eval: ${pairs.length} pairs over ${unique.length} images from ${abs}`)
  console.log(`provider ${p.provider}, flip augment ${flip ? 'on' : 'off'}`)
  const t0 = performance.now()
  const items = await analyseAll(p, unique, flip, base)
  const wall = performance.now() - t0
  const emb = new Map(items.map((i) => [i.file, i.embedding]))
  const genuine: number[] = []
  const impostor: number[] = []
  for (const x of pairs)
    (x.same ? genuine : impostor).push(pairScore(emb.get(x.a) ?? null, emb.get(x.b) ?? null, x.same))
  const best = bestThreshold(genuine, impostor)
  const auc = rocAuc(genuine, impostor)
  const facesFound = items.filter((i) => i.embedding).length
  console.log(`faces found in ${facesFound}/${items.length} images`)
  console.log(
    `pairs ${pairs.length} (${genuine.length} same, ${impostor.length} different): best accuracy ${fmt(best.accuracy, 4)} at threshold ${fmt(best.threshold, 4)} ` +
      `(${best.fp} false accepts, ${best.fn} false rejects), ROC AUC ${fmt(auc, 5)}`
  )
  printCalibration(genuine, impostor)
  printTimings(items)
  const msPerImage = wall / items.length
  console.log(`${msPerImage.toFixed(1)} ms per image`)
  console.log(
    JSON.stringify({
      pairs: pairs.length,
      facesFound,
      pairAccuracy: round(accuracyOf(best), 6),
      threshold: round(best.threshold, 4),
      auc: round(auc, 6),
      msPerImage: round(msPerImage, 1)
    })
  )
}

async function main(): Promise<void> {
  const args = parseEvalArgs(process.argv.slice(2))
  const p = await FacePipeline.create({ provider: args.provider, threads: args.threads, tuning: args.tuning })
  if (p.fallbackReason) console.warn(`note: ${p.fallbackReason}; using cpu`)
  try {
    if (args.pairs) await evalPairs(p, args.pairs, args.flip)
    else if (args.mode === 'cluster') await evalCluster(p, args.dir as string, args.join)
    else if (args.mode === 'open-set') await evalOpenSet(p, args.dir as string)
    else await evalFolders(p, args.dir as string, args.flip)
  } finally {
    await p.close()
  }
}

runCli(main)
