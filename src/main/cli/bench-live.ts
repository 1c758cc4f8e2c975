// `npm run bench:live -- --cameras 1,2,4,8 [--seconds 20] [--soak 300] [--clip <mp4>]`
// Runs the whole live engine (ffmpeg ingest → pool → tracker → matcher → events) on N looped
// copies of a clip per camera count, and prints achieved analysed fps, frame → decision latency,
// machine CPU and memory. Last line: {"cameras":[{"n","fps","p50Ms","p95Ms","rssMb"}…]}.
import { spawnSync } from 'node:child_process'
import { silentLogger } from '../log/logger'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createBackend, type Backend } from '../app/create-backend'
import { percentile } from '../inference/metrics'
import { dataDir, REPO_ROOT, runCli, UsageError } from './common'

interface Row {
  n: number
  fps: number
  fpsMin: number
  p50Ms: number
  p95Ms: number
  cpuPct: number
  rssMb: number
  busyDrops: number
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

async function measure(backend: Backend, clip: string, n: number, seconds: number, fps: number): Promise<Row> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const v = await backend.cameras.create({ name: `bench ${n}-${i + 1}`, url: clip, loop: true, detectFps: fps })
    ids.push(v.id)
  }
  // warm-up: ffmpeg start, first tracks
  const until = Date.now() + 30_000
  while (backend.cameras.list().some((c) => c.status.state !== 'online') && Date.now() < until) await sleep(200)
  await sleep(3000)
  backend.live.resetStats()
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
  const stats = backend.live.stats().filter((s) => ids.includes(s.cameraId))
  const per = ids.map((id) => (stats.find((s) => s.cameraId === id)?.frames ?? 0) / elapsed)
  const lat = stats.flatMap((s) => s.latencies)
  const row: Row = {
    n,
    fps: round(per.reduce((a, b) => a + b, 0) / n, 2),
    fpsMin: round(Math.min(...per), 2),
    p50Ms: round(lat.length ? percentile(lat, 50) : NaN, 1),
    p95Ms: round(lat.length ? percentile(lat, 95) : NaN, 1),
    cpuPct: round((100 * (c1.busy - c0.busy)) / Math.max(1, c1.total - c0.total), 1),
    rssMb: round(peakRss, 1),
    busyDrops: stats.reduce((a, s) => a + s.busyDrops, 0)
  }
  console.log(
    `${String(n).padStart(2)} camera(s): ${row.fps} fps/camera (min ${row.fpsMin}), latency p50 ${row.p50Ms} ms p95 ${row.p95Ms} ms, ` +
      `CPU ${row.cpuPct} % of the machine, engine RSS peak ${row.rssMb} MB (+ ffmpeg ${round(ffRss, 1)} MB), ${stats.reduce((a, s) => a + s.faces, 0)} faces, busy drops ${row.busyDrops}`
  )
  for (const id of ids) await backend.cameras.remove(id)
  return row
}

async function soak(backend: Backend, clip: string, n: number, seconds: number, fps: number): Promise<void> {
  const ids: string[] = []
  for (let i = 0; i < n; i++)
    ids.push((await backend.cameras.create({ name: `soak ${i + 1}`, url: clip, loop: true, detectFps: fps })).id)
  await sleep(10_000)
  const samples: { t: number; rss: number }[] = []
  const t0 = Date.now()
  while (Date.now() - t0 < seconds * 1000) {
    samples.push({ t: (Date.now() - t0) / 1000, rss: treeRssMb().engine })
    await sleep(10_000)
  }
  const first = samples.slice(0, 3).reduce((a, s) => a + s.rss, 0) / Math.min(3, samples.length)
  const last = samples.slice(-3).reduce((a, s) => a + s.rss, 0) / Math.min(3, samples.length)
  console.log(`soak ${n} cameras × ${seconds} s: engine RSS ${samples.map((s) => s.rss.toFixed(0)).join(' ')} MB`)
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
      fps: { type: 'string', default: '5' },
      workers: { type: 'string' }
    }
  })
  const counts = values.cameras.split(',').map((s) => Number(s.trim()))
  if (counts.some((c) => !Number.isInteger(c) || c < 1 || c > 64))
    throw new UsageError('--cameras takes a list of whole numbers 1..64, e.g. 1,2,4,8')
  const seconds = Number(values.seconds)
  const fps = Number(values.fps)
  let clip = values.clip ? resolve(values.clip) : join(dataDir(), 'video/short_hamilton_clip.mp4')
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
    for (const n of counts) rows.push(await measure(backend, clip, n, seconds, fps))
    if (values.soak) await soak(backend, clip, Math.max(...counts), Number(values.soak), fps)
    console.log(
      JSON.stringify({
        cameras: rows.map(({ n, fps, p50Ms, p95Ms, rssMb, cpuPct }) => ({ n, fps, p50Ms, p95Ms, rssMb, cpuPct }))
      })
    )
  } finally {
    await backend.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const round = (v: number, d: number): number => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v)

runCli(main)
