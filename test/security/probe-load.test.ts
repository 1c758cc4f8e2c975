// Finding 2 of the review: 4 clients × 64 parallel cameras.test gave 250 concurrent ffmpeg
// children (6.3 GB, load 15). Replayed: 250 probes of a real MJPEG camera from 4 sockets while a
// fifth client measures system.info round trips. Prints its numbers and a last JSON line.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createServer, type Server, type ServerResponse } from 'node:http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type TestClient } from '../shell/ws-client'
import { call } from './support'

/**
 * Counts ffmpeg children of this process (the server runs in-process) from a separate shell loop:
 * scanning /proc from the test's own event loop every few ms would itself slow system.info down.
 */
function ffmpegSampler(parent: number): { max(): number; stop(): void } {
  let max = 0
  const sh = spawn('sh', ['-c', `while :; do pgrep -c -x -P ${parent} ffmpeg; sleep 0.01; done`], {
    stdio: ['ignore', 'pipe', 'ignore']
  })
  sh.stdout.setEncoding('utf8')
  sh.stdout.on('data', (d: string) => {
    for (const line of d.split('\n')) if (line.trim()) max = Math.max(max, Number(line))
  })
  return { max: () => max, stop: () => void sh.kill('SIGKILL') }
}

/** The browser-mode entry point with the camera box, as its own process (ffmpeg are its children). */
async function startLabServer(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-load-'))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main/server/main.ts', '--port', '0', '--data-dir', dataDir, '--static-dir', dataDir],
    {
      cwd: resolve(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        VIGIL_BACKEND_MODULE: resolve(import.meta.dirname, 'lab-backend-module.ts'),
        VIGIL_PORT: '',
        VIGIL_TOKEN: ''
      },
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  let out = ''
  const url = await new Promise<string>((done, fail) => {
    const t = setTimeout(() => fail(new Error(`no URL printed: ${out}`)), 60_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /open (http:\/\/\S+)/.exec(out)
      if (m?.[1]) {
        clearTimeout(t)
        done(m[1])
      }
    })
  })
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

let camera: Server
let camUrl = ''
const streams = new Set<ServerResponse>()
let timer: NodeJS.Timeout
let server: { url: string; pid: number; stop(): Promise<void> }

beforeAll(async () => {
  const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#345' } })
    .jpeg()
    .toBuffer()
  timer = setInterval(() => {
    for (const res of streams) {
      res.write(`--f\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`)
      res.write(jpeg)
      res.write('\r\n')
    }
  }, 100)
  camera = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=f' })
    streams.add(res)
    req.on('close', () => streams.delete(res))
  })
  await new Promise<void>((r) => camera.listen(0, '127.0.0.1', r))
  camUrl = `http://127.0.0.1:${(camera.address() as { port: number }).port}/video.mjpg`
  server = await startLabServer()
})

afterAll(async () => {
  clearInterval(timer)
  camera?.closeAllConnections()
  await new Promise((r) => camera?.close(r))
  await server?.stop()
})

describe('probe load', () => {
  it('250 parallel cameras.test from 4 clients: never more than 2 ffmpeg, system.info stays responsive', async () => {
    const clients: TestClient[] = await Promise.all([0, 1, 2, 3].map(() => connect(server.url)))
    const watcher = await connect(server.url)
    const sampler = ffmpegSampler(server.pid)
    const rtts: number[] = []
    const at: number[] = []
    const tStart = performance.now()
    let stop = false
    const pinger = (async () => {
      let id = 1_000_000
      while (!stop) {
        const t0 = performance.now()
        const r = await call(watcher, id++, 'system.info')
        rtts.push(performance.now() - t0)
        at.push(Math.round(t0 - tStart))
        expect(r.envelope.ok).toBe(true)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const t0 = performance.now()
    const calls = Array.from({ length: 250 }, (_, i) => call(clients[i % 4]!, i + 1, 'cameras.test', { url: camUrl }))
    const results = await Promise.all(calls)
    const wallMs = performance.now() - t0
    stop = true
    await pinger
    sampler.stop()
    const maxFfmpeg = sampler.max()
    const values = results.map((r) =>
      r.envelope.ok ? (r.envelope.value as { ok: boolean; error: string | null }) : null
    )
    const ok = values.filter((v) => v?.ok).length
    const busy = values.filter((v) => v && !v.ok && /too many camera tests/.test(v.error ?? '')).length
    const inFlight = results.filter((r) => !r.envelope.ok && r.envelope.error.code === 'busy').length
    const slow = rtts.map((v, i) => [Math.round(v), at[i]]).filter(([v]) => v! > 100)
    console.log(`system.info round trips over 100 ms [ms, started at ms]: ${JSON.stringify(slow)}`)
    rtts.sort((a, b) => a - b)
    const p = (q: number): number => Math.round(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]! * 10) / 10
    const summary = {
      probes: 250,
      clients: 4,
      probeLimit: 2,
      maxConcurrentFfmpeg: maxFfmpeg,
      frames: ok,
      answeredBusy: busy + inFlight,
      wallMs: Math.round(wallMs),
      systemInfoRoundTrips: rtts.length,
      systemInfoP50Ms: p(0.5),
      systemInfoP99Ms: p(0.99),
      systemInfoMaxMs: Math.round(rtts[rtts.length - 1]! * 10) / 10
    }
    console.log(`probe load (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`)
    console.log(JSON.stringify({ ...summary, loadAverage: Math.round(loadavg()[0]! * 10) / 10 }))
    expect(maxFfmpeg).toBeLessThanOrEqual(2)
    expect(ok).toBeGreaterThan(0)
    expect(ok + busy + inFlight).toBe(250)
    // The 200 ms target is a benchmark number, printed above with the machine's load; a timed
    // assertion would only measure the neighbours. This bound catches a server that stops answering.
    expect(summary.systemInfoMaxMs).toBeLessThan(5000)
    await Promise.all([...clients, watcher].map((c) => c.close()))
  }, 180_000)
})
