// `npm run bench:live -- --cameras 1,2,4,8 [--seconds 20] [--soak 300] [--clip <file>] [--mosaic 3]
//   [--detect-width px] [--tiles n] [--fps 5] [--workers n]`
// Runs the whole live engine (ffmpeg ingest → pool → tracker → matcher → events) on N looped
// copies of a clip per camera count, and prints achieved analysed fps, frame → decision latency,
// machine CPU and memory. `--mosaic 3` first makes 1080p25 crowd material from the clip (a 3×3
// mosaic of time-shifted copies, H.264 with a 2 s GOP, cached under the temp dir, see mosaic.ts).
// Beside each row: the CPU the ffmpeg decoders used and the CPU of model runs (sum of
// session.run times), both in % of the machine, so a reader sees how close the engine is to the
// physical limit. Last line: {"cameras":[{n,fps,fpsMin,p50Ms,p95Ms,cpuPct,rssMb,ffmpegMb,dropPct,
// facesPerFrame,decodeCpuPct,modelCpuPct}…]}.
import { spawnSync } from 'node:child_process'
import { silentLogger } from '../log/logger'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createBackend, type Backend } from '../app/create-backend'
import { percentile } from '../inference/metrics'
import { dataDir, REPO_ROOT, runCli, UsageError } from './common'
import { ensureMosaic } from './mosaic'

interface Row {
  n: number
  fps: number
  fpsMin: number
  p50Ms: number
  p95Ms: number
  cpuPct: number
  rssMb: number
  ffmpegMb: number
  /** decoded frames never analysed (replaced while the engine was busy), % */
  dropPct: number
  facesPerFrame: number
  /** CPU of the ffmpeg processes in the run (decode + scale + preview encode), % of the machine */
  decodeCpuPct: number
  /** CPU of model runs alone (sum of onnxruntime session.run times), % of the machine */
  modelCpuPct: number
  busyDrops: number
}

const CORES = Math.max(1, availableParallelism())
const TICKS_PER_S = 100

/** CPU seconds (user + system) a process has used so far, from /proc; 0 once it is gone. */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the ")" that closes the command name: utime is the 12th, stime the 13th
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_S
  } catch {
    return 0
  }
}

/** Machine-wide busy CPU % between two /proc/stat readings (all processes: ffmpeg, workers, main). */
function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  const total = v.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

/** RSS of this process and all its descendants (pool workers, ffmpeg), MB. */
function treeRssMb(): { engine: number; ffmpeg: number } {
  const ps = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,rss=,comm='], { encoding: 'utf8' })
  const rows = ps.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, rss, ...comm]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      rss: Number(rss),
      comm: comm.join(' ')
    }))
  const kids = new Map<number, typeof rows>()
  for (const r of rows) kids.set(r.ppid, [...(kids.get(r.ppid) ?? []), r])
  let engine = 0
  let ffmpeg = 0
  const walk = (pid: number): void => {
    for (const c of kids.get(pid) ?? []) {
      if (c.comm.includes('ffmpeg')) ffmpeg += c.rss
      else engine += c.rss
      walk(c.pid)
    }
  }
  engine += process.memoryUsage().rss / 1024
  walk(process.pid)
  return { engine: engine / 1024, ffmpeg: ffmpeg / 1024 }
}

interface CameraKnobs {
  fps: number
  maxDetectWidth?: number
  detectTiles?: number
}

async function measure(backend: Backend, clip: string, n: number, seconds: number, knobs: CameraKnobs): Promise<Row> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const v = await backend.cameras.create({
      name: `bench ${n}-${i + 1}`,
      url: clip,
      loop: true,
      detectFps: knobs.fps,
      ...(knobs.maxDetectWidth ? { maxDetectWidth: knobs.maxDetectWidth } : {}),
      ...(knobs.detectTiles ? { detectTiles: knobs.detectTiles } : {})
    })
    ids.push(v.id)
  }
  const pids = (): number[] =>
    ids.map((id) => backend.cameras.source(id)?.pid() ?? null).filter((p): p is number => p !== null)
  const srcStats = (): { delivered: number; dropped: number } =>
    ids.reduce(
      (a, id) => {
        const s = backend.cameras.source(id)?.stats()
        return { delivered: a.delivered + (s?.delivered ?? 0), dropped: a.dropped + (s?.dropped ?? 0) }
      },
      { delivered: 0, dropped: 0 }
    )
  // warm-up: ffmpeg start, first tracks
  const until = Date.now() + 30_000
  while (backend.cameras.list().some((c) => c.status.state !== 'online') && Date.now() < until) await sleep(200)
  await sleep(3000)
  backend.live.resetStats()
  // per pid: an ffmpeg restarted during the window counts from its own start, not negative
  const ff0 = new Map(pids().map((p) => [p, procCpuSeconds(p)]))
  const s0 = srcStats()
  const c0 = cpuTimes()
  let peakRss = 0
  let ffRss = 0
  const t0 = Date.now()
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(1000)
    const r = treeRssMb()
    peakRss = Math.max(peakRss, r.engine)
    ffRss = Math.max(ffRss, r.ffmpeg)
  }
  const elapsed = (Date.now() - t0) / 1000
  const c1 = cpuTimes()
  const ffCpu = pids().reduce((a, p) => a + procCpuSeconds(p) - (ff0.get(p) ?? 0), 0)
  const s1 = srcStats()
  const stats = backend.live.stats().filter((s) => ids.includes(s.cameraId))
  const per = ids.map((id) => (stats.find((s) => s.cameraId === id)?.frames ?? 0) / elapsed)
  const lat = stats.flatMap((s) => s.latencies)
  const frames = stats.reduce((a, s) => a + s.frames, 0)
  const faces = stats.reduce((a, s) => a + s.faces, 0)
  const modelS = stats.reduce((a, s) => a + s.modelMs, 0) / 1000
  const delivered = s1.delivered - s0.delivered
  const row: Row = {
    n,
    fps: round(per.reduce((a, b) => a + b, 0) / n, 2),
    fpsMin: round(Math.min(...per), 2),
    p50Ms: round(lat.length ? percentile(lat, 50) : NaN, 1),
    p95Ms: round(lat.length ? percentile(lat, 95) : NaN, 1),
    cpuPct: round((100 * (c1.busy - c0.busy)) / Math.max(1, c1.total - c0.total), 1),
    rssMb: round(peakRss, 1),
    ffmpegMb: round(ffRss, 1),
    dropPct: round(delivered > 0 ? (100 * Math.max(0, delivered - frames)) / delivered : 0, 1),
    facesPerFrame: round(frames > 0 ? faces / frames : 0, 2),
    decodeCpuPct: round((100 * ffCpu) / elapsed / CORES, 1),
    modelCpuPct: round((100 * modelS) / elapsed / CORES, 1),
    busyDrops: stats.reduce((a, s) => a + s.busyDrops, 0)
  }
  console.log(
    `${String(n).padStart(2)} camera(s): ${row.fps} fps/camera (min ${row.fpsMin}), latency p50 ${row.p50Ms} ms p95 ${row.p95Ms} ms, ` +
      `CPU ${row.cpuPct} % of the machine (decoders ${row.decodeCpuPct} %, model runs ${row.modelCpuPct} %), ` +
      `engine RSS peak ${row.rssMb} MB (+ ffmpeg ${row.ffmpegMb} MB), ${row.facesPerFrame} faces/frame, ` +
      `${row.dropPct} % of decoded frames not analysed, busy drops ${row.busyDrops}`
  )
  for (const id of ids) await backend.cameras.remove(id)
  return row
}

async function soak(backend: Backend, clip: string, n: number, seconds: number, knobs: CameraKnobs): Promise<void> {
  const ids: string[] = []
  for (let i = 0; i < n; i++)
    ids.push(
      (
        await backend.cameras.create({
          name: `soak ${i + 1}`,
          url: clip,
          loop: true,
          detectFps: knobs.fps,
          ...(knobs.maxDetectWidth ? { maxDetectWidth: knobs.maxDetectWidth } : {}),
          ...(knobs.detectTiles ? { detectTiles: knobs.detectTiles } : {})
        })
      ).id
    )
  await sleep(10_000)
  const samples: { t: number; rss: number }[] = []
  const t0 = Date.now()
  while (Date.now() - t0 < seconds * 1000) {
    const r = treeRssMb()
    samples.push({ t: (Date.now() - t0) / 1000, rss: r.engine + r.ffmpeg })
    await sleep(10_000)
  }
  const first = samples.slice(0, 3).reduce((a, s) => a + s.rss, 0) / Math.min(3, samples.length)
  const last = samples.slice(-3).reduce((a, s) => a + s.rss, 0) / Math.min(3, samples.length)
  console.log(
    `soak ${n} cameras × ${seconds} s: engine + ffmpeg RSS ${samples.map((s) => s.rss.toFixed(0)).join(' ')} MB`
  )
  console.log(
    `soak: first 30 s mean ${first.toFixed(1)} MB, last 30 s mean ${last.toFixed(1)} MB, drift ${(last - first).toFixed(1)} MB`
  )
  for (const id of ids) await backend.cameras.remove(id)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cameras: { type: 'string', default: '1,2,4,8' },
      seconds: { type: 'string', default: '20' },
      soak: { type: 'string' },
      clip: { type: 'string' },
      mosaic: { type: 'string' },
      'detect-width': { type: 'string' },
      tiles: { type: 'string' },
      fps: { type: 'string', default: '5' },
      workers: { type: 'string' }
    }
  })
  const counts = values.cameras.split(',').map((s) => Number(s.trim()))
  if (counts.some((c) => !Number.isInteger(c) || c < 1 || c > 64))
    throw new UsageError('--cameras takes a list of whole numbers 1..64, e.g. 1,2,4,8')
  const seconds = Number(values.seconds)
  const fps = Number(values.fps)
  if (!(fps > 0 && fps <= 30)) throw new UsageError('--fps takes a number of frames per second, 0 < fps ≤ 30')
  const mosaic = values.mosaic === undefined ? 0 : Number(values.mosaic)
  if (!Number.isInteger(mosaic) || mosaic < 0 || mosaic > 6)
    throw new UsageError('--mosaic takes the cells per side, a whole number 1..6 (3 = 3×3 in 1920×1080)')
  const detectWidth = values['detect-width'] === undefined ? undefined : Number(values['detect-width'])
  if (detectWidth !== undefined && !(Number.isInteger(detectWidth) && detectWidth >= 64 && detectWidth <= 7680))
    throw new UsageError('--detect-width takes a width in px, 64..7680')
  const tiles = values.tiles === undefined ? undefined : Number(values.tiles)
  if (tiles !== undefined && !(Number.isInteger(tiles) && tiles >= 1 && tiles <= 4))
    throw new UsageError('--tiles takes the detection tiles per side, 1..4 (small faces in big frames)')
  const knobs: CameraKnobs = { fps, maxDetectWidth: detectWidth, detectTiles: tiles }
  let clip = values.clip ? resolve(values.clip) : join(dataDir(), 'video/short_hamilton_clip.mp4')
  if (values.clip && !existsSync(clip)) throw new UsageError(`--clip ${clip}: no such file`)
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-live-'))
  if (!existsSync(clip)) {
    console.warn(
      `bench:live: ${clip} not found; generating a synthetic 640×360 clip (no faces: measures ingest and detection only)`
    )
    clip = join(dir, 'synthetic.mp4')
    const ff = spawnSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=640x360:rate=30',
      '-t',
      '10',
      '-pix_fmt',
      'yuv420p',
      clip
    ])
    if (ff.status !== 0) throw new Error('could not generate a synthetic clip with ffmpeg')
  }
  if (mosaic > 0) {
    console.log(
      `bench:live: making a ${mosaic}×${mosaic} 1920×1080 25 fps mosaic of ${clip} (cached after the first run)…`
    )
    clip = await ensureMosaic(clip, mosaic)
  }
  const backend = await createBackend({
    dataDir: dir,
    mode: 'headless',
    modelsDir: join(REPO_ROOT, 'models'),
    workers: values.workers ? Number(values.workers) : undefined,
    logger: silentLogger
  })
  try {
    for (const [name, file] of [
      ['Lin-Manuel Miranda', 'video/lin-manuel-miranda.png'],
      ['Alex Lacamoire', 'video/alex-lacamoire.png']
    ] as const) {
      const path = join(dataDir(), file)
      if (!existsSync(path)) continue
      const p = await backend.gallery.create({ name })
      await backend.gallery.addPhoto({
        personId: p.id,
        fileName: file,
        dataBase64: (await readFile(path)).toString('base64')
      })
    }
    console.log(
      `bench:live: clip ${clip}, detection ${fps} fps per camera, ${backend.pool.workers().length} inference workers (${backend.pool
        .workers()
        .map((w) => w.provider)
        .join(', ')}), ${seconds} s per count`
    )
    const rows: Row[] = []
    for (const n of counts) rows.push(await measure(backend, clip, n, seconds, knobs))
    if (values.soak) await soak(backend, clip, Math.max(...counts), Number(values.soak), knobs)
    console.log(JSON.stringify({ cameras: rows.map(({ busyDrops: _busy, ...r }) => r) }))
  } finally {
    await backend.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const round = (v: number, d: number): number => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v)

runCli(main)
