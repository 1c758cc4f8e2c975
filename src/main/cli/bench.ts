// `npm run bench [-- --limit N --workers N --provider P --queries N]`
// Speed of the inference path as the app uses it (through the worker pool) and of gallery matching.
// Human-readable lines first; the LAST line is one JSON object:
//   stagesMs        median ms per stage (decode, detect: per image; landmarks, align, quality, embed: per face)
//   facesPerSecond1 / facesPerSecondN   throughput with 1 worker / one worker per core (1 onnxruntime thread each)
//   overheadRatio   end-to-end time per face (1 worker, sequential, one job at a time through the
//                   pool, measured in this process) ÷ the onnxruntime session.run time inside it
//                   (modelMs, the sum of the raw run() calls); 1.0 = nothing but models. After a
//                   warm-up that is not counted, every image runs REPEATS times in round-robin
//                   passes; each image contributes its MEDIAN end-to-end time and its median model
//                   time, so a burst of someone else's load spoils one run, not the figure.
//   facesPerSecond1/N  median over alternating trials; each trial keeps 2 jobs per worker in flight
//   matchMs100k     p99 ms of one exact 1:N cosine match of a 512-d query against 100 000 references
//   extra keys: cpuMsPerFace1/N (CPU time of workers + this process per face: if N workers need no
//   more than 1, they scale linearly on N idle cores, whatever the wall clock says on a busy machine),
//   overheadRatioInProcess (same run without the pool: the pipeline's own share),
//   e2eMsPerFace / modelMsPerFace (the two sides of overheadRatio), overheadMsPerImage (what the
//   difference is made of: decode in libvips, pool IPC + scheduling, the rest of the pipeline),
//   ipcMsPerFrame (median pool overhead of one 640×360 RGB frame), poolOverheadMs, loadAverage…
// The numbers are wall-clock on whatever else the machine is doing: run it on an idle machine.
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import type { ExecutionProvider, Thresholds } from '../../shared/types'
import type { AnalyzeResult, MatcherReference, RgbImage, Stage } from '../contracts'
import { Matcher } from '../gallery/matcher'
import { percentile } from '../inference/metrics'
import { FacePipeline } from '../inference/pipeline'
import { cpuMsOf } from '../inference/pool/cpu'
import { InferencePool } from '../inference/pool/pool'
import {
  dataDir,
  hasDataDir,
  listPersonFolders,
  parseCli,
  positiveInt,
  providerArg,
  round,
  runCli,
  str,
  UsageError
} from './common'
import { randomUnit, rng } from '../gallery/synthetic'

const USAGE = `usage: npm run bench [-- options]
  --limit <n>      use at most n images (default: all of lfw-subset)
  --workers <n>    workers for the parallel run (default: number of cores, ${os.availableParallelism()})
  --provider <p>   cpu | cuda | dml | coreml (default cpu; falls back to cpu)
  --queries <n>    match queries against the 100 000-reference gallery (default 300)`

interface Args {
  limit: number
  workers: number
  provider: ExecutionProvider
  queries: number
}

function parseBenchArgs(argv: string[]): Args {
  const { values, positionals } = parseCli(
    argv,
    {
      limit: { type: 'string' },
      workers: { type: 'string' },
      provider: { type: 'string' },
      queries: { type: 'string' }
    },
    USAGE
  )
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}\n${USAGE}`)
  const int = (name: string, dflt: number): number =>
    values[name] === undefined ? dflt : positiveInt(name, str(values[name]), USAGE)
  return {
    limit: int('limit', Infinity),
    workers: int('workers', os.availableParallelism()),
    provider: providerArg(str(values.provider), USAGE),
    queries: int('queries', 300)
  }
}

async function loadImages(limit: number): Promise<{ images: Uint8Array[]; source: string }> {
  if (hasDataDir('lfw-subset')) {
    const people = await listPersonFolders(join(dataDir(), 'lfw-subset'))
    // interleave people so a --limit still covers several faces
    const files: string[] = []
    for (let i = 0; files.length < limit && people.some((p) => i < p.files.length); i++) {
      for (const p of people) if (i < p.files.length && files.length < limit) files.push(p.files[i])
    }
    return {
      images: await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f)))),
      source: `${files.length} lfw-subset photos`
    }
  }
  console.warn(
    `WARNING: ${join(dataDir(), 'lfw-subset')} not found (set VIGIL_TEST_DATA); benchmarking generated face-free images: faces/s will be 0 and images/s is shown instead`
  )
  const n = Math.min(limit, 40)
  const images: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const w = 250
    const data = Buffer.alloc(w * w * 3)
    for (let p = 0; p < data.length; p++) data[p] = (p * (i + 7)) & 0xff
    images.push(
      new Uint8Array(
        await sharp(data, { raw: { width: w, height: w, channels: 3 } })
          .jpeg()
          .toBuffer()
      )
    )
  }
  return { images, source: `${n} generated images` }
}

function median(xs: number[]): number {
  return percentile(xs, 50)
}

interface Sequential {
  stagesMs: Partial<Record<Stage, number>>
  overheadRatio: number
  e2ePerImageMs: number
  modelPerImageMs: number
  poolOverheadMs: number
  faces: number
  /** where the end-to-end time beyond the models goes, ms per image (per-image medians, summed) */
  overheadSplit: { decode: number; pool: number; pipeline: number }
}

const PER_FACE: readonly Stage[] = ['landmarks', 'align', 'quality', 'embed']
const PER_IMAGE: readonly Stage[] = ['decode', 'detect']

const REPEATS = 5

interface Run {
  ms: number
  r: AnalyzeResult
}

/**
 * Every image REPEATS times, one job at a time, in round-robin passes (image 1..n, then again), so
 * a burst of load from elsewhere lands on different images in different passes.
 */
async function repeatedRuns(
  analyze: (bytes: Uint8Array) => Promise<AnalyzeResult>,
  images: Uint8Array[]
): Promise<Run[][]> {
  const runs: Run[][] = images.map(() => [])
  for (let pass = 0; pass < REPEATS; pass++) {
    for (let i = 0; i < images.length; i++) {
      const t = performance.now()
      const r = await analyze(images[i])
      runs[i].push({ ms: performance.now() - t, r })
    }
  }
  return runs
}

/** Σ over images of the median end-to-end time and of the median model time. */
function medianTotals(runs: Run[][]): { e2e: number; model: number } {
  let e2e = 0
  let model = 0
  for (const rs of runs) {
    e2e += median(rs.map((x) => x.ms))
    model += median(rs.map((x) => x.r.modelMs))
  }
  return { e2e, model }
}

async function sequential(pool: InferencePool, images: Uint8Array[]): Promise<Sequential> {
  const perStage = new Map<Stage, number[]>()
  const overhead: number[] = []
  const runs = await repeatedRuns((b) => pool.analyzeEncoded(b), images)
  for (const rs of runs) {
    for (const { ms, r } of rs) {
      const inWorker = Object.values(r.timings).reduce((s, v) => s + (v ?? 0), 0)
      overhead.push(ms - inWorker)
      for (const s of PER_IMAGE) if (r.timings[s] !== undefined) push(perStage, s, r.timings[s] as number)
      if (r.faces.length > 0)
        for (const s of PER_FACE)
          if (r.timings[s] !== undefined) push(perStage, s, (r.timings[s] as number) / r.faces.length)
    }
  }
  const faces = runs.reduce((s, rs) => s + rs[0].r.faces.length, 0)
  const { e2e, model } = medianTotals(runs)
  // decode: libvips in the worker; pool: IPC and scheduling (end to end minus the worker's
  // timings); pipeline: the rest of the worker's time that is not inside session.run
  const split = { decode: 0, pool: 0, pipeline: 0 }
  for (const rs of runs) {
    const inWorker = rs.map(({ r }) => Object.values(r.timings).reduce((a, v) => a + (v ?? 0), 0))
    const decode = median(rs.map(({ r }) => r.timings.decode ?? 0))
    split.decode += decode
    split.pool += median(rs.map(({ ms }, i) => ms - inWorker[i]))
    split.pipeline += median(rs.map(({ r }, i) => inWorker[i] - (r.timings.decode ?? 0) - r.modelMs))
  }
  const per = (v: number): number => round(v / images.length, 3)
  const stagesMs: Partial<Record<Stage, number>> = {}
  for (const s of [...PER_IMAGE, ...PER_FACE]) {
    const xs = perStage.get(s)
    if (xs?.length) stagesMs[s] = round(median(xs), 3)
  }
  return {
    stagesMs,
    overheadRatio: model > 0 ? e2e / model : NaN,
    e2ePerImageMs: e2e / images.length,
    modelPerImageMs: model / images.length,
    poolOverheadMs: median(overhead),
    faces,
    overheadSplit: { decode: per(split.decode), pool: per(split.pool), pipeline: per(split.pipeline) }
  }
}

function push<K>(m: Map<K, number[]>, k: K, v: number): void {
  const xs = m.get(k)
  if (xs) xs.push(v)
  else m.set(k, [v])
}

interface Rate {
  faces: number
  images: number
  seconds: number
  /** CPU time of the workers and this process during the run; null where /proc is unavailable */
  cpuMs: number | null
}

const TRIALS = 5
/** jobs kept in flight per worker: one running, one already sent so the worker never waits on IPC */
const IN_FLIGHT_PER_WORKER = 2

/**
 * All images once, with 2 jobs per worker outstanding at every moment (a new one is sent as each
 * answer arrives), so every worker always has its next job waiting and none sits idle.
 */
async function throughput(pool: InferencePool, images: Uint8Array[]): Promise<Rate> {
  const pids = pool.workers().flatMap((w) => (w.pid === null ? [] : [w.pid]))
  const inFlight = IN_FLIGHT_PER_WORKER * pool.workers().length
  let next = 0
  let faces = 0
  const feed = async (): Promise<void> => {
    while (next < images.length) {
      const r = await pool.analyzeEncoded(images[next++])
      faces += r.faces.length
    }
  }
  const cpu0 = cpuMsOf(pids)
  const t = performance.now()
  await Promise.all(Array.from({ length: Math.min(inFlight, images.length) }, feed))
  const seconds = (performance.now() - t) / 1000
  const cpu1 = cpuMsOf(pids)
  return { faces, images: images.length, seconds, cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null }
}

async function inProcessRatio(
  images: Uint8Array[],
  provider: ExecutionProvider
): Promise<{ ratio: number; e2ePerImageMs: number }> {
  // same libvips settings as a pool worker with one thread (see worker-entry.ts)
  sharp.concurrency(1)
  sharp.cache(false)
  const pipe = await FacePipeline.create({ provider, threads: 1 })
  try {
    for (const img of images.slice(0, 10)) await pipe.analyzeEncoded(img)
    const { e2e, model } = medianTotals(await repeatedRuns((b) => pipe.analyzeEncoded(b), images))
    return { ratio: e2e / model, e2ePerImageMs: e2e / images.length }
  } finally {
    await pipe.close()
  }
}

/** Median pool overhead for raw camera frames: what the IPC copy of 691 kB costs per job. */
async function frameOverhead(pool: InferencePool, images: Uint8Array[]): Promise<number> {
  const { data, info } = await sharp(images[0])
    .resize(640, 360, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const frame: RgbImage = {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height
  }
  const xs: number[] = []
  for (let i = 0; i < 40; i++) {
    const t = performance.now()
    const r = await pool.analyzeRaw(frame)
    const ms = performance.now() - t
    if (i >= 5) xs.push(ms - Object.values(r.timings).reduce((s, v) => s + (v ?? 0), 0))
  }
  return median(xs)
}

/** p99 of Matcher.match (src/main/gallery/matcher.ts) over 100 000 synthetic unit references. */
function matchBench(queries: number): { p50: number; p99: number; buildMs: number; simd: boolean } {
  const N = 100_000
  const DIM = 512
  const PER_PERSON = 5
  const r = rng(7)
  const refs: MatcherReference[] = []
  for (let i = 0; i < N; i++) {
    const p = Math.floor(i / PER_PERSON)
    refs.push({
      personId: `p${p}`,
      name: `Person ${p}`,
      photoId: `r${i}`,
      embedding: randomUnit(r, DIM),
      threshold: null
    })
  }
  const m = new Matcher({ dim: DIM })
  const t0 = performance.now()
  m.setReferences(refs)
  const buildMs = performance.now() - t0
  const thresholds: Thresholds = { accept: 0.5, review: 0.35 }
  const qs: Float32Array[] = []
  for (let i = 0; i < queries; i++) {
    if (i % 2 === 0) {
      // a new photo of an enrolled person: a stored reference plus noise
      const base = refs[Math.floor(r() * N)].embedding
      const noise = randomUnit(r, DIM)
      const q = new Float32Array(DIM)
      let s = 0
      for (let j = 0; j < DIM; j++) {
        q[j] = base[j] + 0.8 * noise[j]
        s += q[j] * q[j]
      }
      for (let j = 0; j < DIM; j++) q[j] /= Math.sqrt(s)
      qs.push(q)
    } else qs.push(randomUnit(r, DIM)) // a stranger
  }
  for (let i = 0; i < 20; i++) m.match(qs[i % qs.length], thresholds, 5)
  const times: number[] = []
  for (const q of qs) {
    const t = performance.now()
    m.match(q, thresholds, 5)
    times.push(performance.now() - t)
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99), buildMs, simd: m.simd }
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2))
  const cores = os.availableParallelism()
  console.log(
    `vigil bench — ${os.cpus()[0]?.model ?? 'cpu'} × ${cores}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  )
  console.log('note: wall-clock numbers; anything else running on this machine makes them worse')
  const { images, source } = await loadImages(args.limit)
  if (images.length === 0) throw new UsageError('no images to benchmark')
  console.log(`images: ${source}`)

  const one = await InferencePool.create({
    size: 1,
    threadsPerWorker: 1,
    provider: args.provider,
    maxQueue: images.length
  })
  const many = await InferencePool.create({
    size: args.workers,
    threadsPerWorker: 1,
    provider: args.provider,
    maxQueue: images.length
  })
  let seq: Sequential
  let ipcMsPerFrame: number
  const trials1: Rate[] = []
  const trialsN: Rate[] = []
  try {
    console.log(
      `provider: requested ${args.provider}, got ${[...one.workers(), ...many.workers()].map((w) => w.provider).join(', ')}`
    )
    // warm-up: first runs pay for lazy initialisation inside onnxruntime and sharp
    for (const img of images.slice(0, Math.min(10, images.length))) await one.analyzeEncoded(img)
    await Promise.all(
      images.slice(0, Math.min(images.length, 10 * args.workers)).map((img) => many.analyzeEncoded(img))
    )
    seq = await sequential(one, images)
    ipcMsPerFrame = await frameOverhead(one, images)
    // Alternating trials, median of each: other load on the machine comes and goes, and
    // alternating keeps it from landing on one configuration only.
    for (let i = 0; i < TRIALS; i++) {
      trials1.push(await throughput(one, images))
      trialsN.push(await throughput(many, images))
    }
  } finally {
    await Promise.all([one.close(), many.close()])
  }
  const stageLine = Object.entries(seq.stagesMs)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ')
  console.log(`stages (median ms; decode/detect per image, the rest per face): ${stageLine}`)
  console.log(
    `sequential, 1 worker: ${seq.e2ePerImageMs.toFixed(2)} ms per image end to end, ${seq.modelPerImageMs.toFixed(2)} ms of it in onnxruntime, ` +
      `${seq.faces} faces in ${images.length} images; pool overhead (IPC + scheduling) median ${seq.poolOverheadMs.toFixed(3)} ms per job`
  )
  console.log(
    `overhead ratio (end to end ÷ model time): ${seq.overheadRatio.toFixed(3)} (target ≤ 1.25); beyond the models, per image: ` +
      `decode ${seq.overheadSplit.decode.toFixed(2)} ms, pool ${seq.overheadSplit.pool.toFixed(2)} ms, rest of the pipeline ${seq.overheadSplit.pipeline.toFixed(2)} ms`
  )
  console.log(
    `640×360 RGB frame through the pool: ${ipcMsPerFrame.toFixed(3)} ms overhead per frame (IPC copy + scheduling)`
  )

  const useFaces = seq.faces > 0
  const unit = useFaces ? 'faces/s' : 'images/s'
  const rate = (t: Rate): number => (useFaces ? t.faces : t.images) / t.seconds
  const fps1 = median(trials1.map(rate))
  const fpsN = median(trialsN.map(rate))
  console.log(
    `throughput (median of ${TRIALS} alternating trials, ${IN_FLIGHT_PER_WORKER} jobs per worker in flight): 1 worker ${fps1.toFixed(1)} ${unit}; ` +
      `${args.workers} workers ${fpsN.toFixed(1)} ${unit} (×${(fpsN / fps1).toFixed(2)}, target ≥ ×1.6); ` +
      `trials 1: ${trials1.map((t) => rate(t).toFixed(1)).join(' ')}, ${args.workers}: ${trialsN.map((t) => rate(t).toFixed(1)).join(' ')}`
  )
  // Wall-clock scaling needs idle cores; CPU time per face does not. If N workers spend no more CPU
  // per face than one, they scale linearly on N free cores.
  const cpuPer = (ts: Rate[]): number | null => {
    const ok = ts.filter((t) => t.cpuMs !== null)
    const per = ok.map((t) => (t.cpuMs as number) / (useFaces ? t.faces : t.images))
    return per.length ? median(per) : null
  }
  const cpu1 = cpuPer(trials1)
  const cpuN = cpuPer(trialsN)
  if (cpu1 !== null && cpuN !== null) {
    const free = Math.min(args.workers, cores)
    console.log(
      `CPU per ${useFaces ? 'face' : 'image'} (workers + this process): 1 worker ${cpu1.toFixed(1)} ms, ${args.workers} workers ${cpuN.toFixed(1)} ms ` +
        `→ on idle cores: 1 worker ≈ ${(1000 / cpu1).toFixed(1)}, ${args.workers} workers ≈ ${((free * 1000) / cpuN).toFixed(1)} ${unit} (×${((free * cpu1) / cpuN).toFixed(2)})`
    )
  }

  // The same sequential run without the pool separates the pool's share of the overhead from the pipeline's.
  const inProc = await inProcessRatio(images, args.provider)
  console.log(
    `for comparison, FacePipeline in this process (no pool): ${inProc.e2ePerImageMs.toFixed(2)} ms per image, ratio ${inProc.ratio.toFixed(3)}; ` +
      `the pool adds ${(seq.e2ePerImageMs - inProc.e2ePerImageMs).toFixed(2)} ms per image`
  )

  const match = matchBench(args.queries)
  console.log(
    `match 1:100 000 (512-d, Matcher, ${match.simd ? 'int8 SIMD scan + exact re-score' : 'plain JS scan'}): ` +
      `p50 ${match.p50.toFixed(3)} ms, p99 ${match.p99.toFixed(3)} ms over ${args.queries} queries (target p99 ≤ 5 ms); index build ${match.buildMs.toFixed(0)} ms`
  )

  console.log(
    JSON.stringify({
      stagesMs: seq.stagesMs,
      facesPerSecond1: round(useFaces ? fps1 : 0, 2),
      facesPerSecondN: round(useFaces ? fpsN : 0, 2),
      overheadRatioInProcess: round(inProc.ratio, 3),
      overheadRatio: round(seq.overheadRatio, 3),
      e2eMsPerFace: seq.faces > 0 ? round((seq.e2ePerImageMs * images.length) / seq.faces, 3) : null,
      modelMsPerFace: seq.faces > 0 ? round((seq.modelPerImageMs * images.length) / seq.faces, 3) : null,
      overheadMsPerImage: seq.overheadSplit,
      matchMs100k: round(match.p99, 3),
      workersN: args.workers,
      ipcMsPerFrame: round(ipcMsPerFrame, 3),
      cpuMsPerFace1: cpu1 === null ? null : round(cpu1, 2),
      cpuMsPerFaceN: cpuN === null ? null : round(cpuN, 2),
      poolOverheadMs: round(seq.poolOverheadMs, 3),
      images: images.length,
      faces: seq.faces,
      loadAverage: os.loadavg().map((l) => round(l, 2))
    })
  )
}

runCli(main)
