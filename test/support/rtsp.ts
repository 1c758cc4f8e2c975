// Test helper: a real RTSP server (GStreamer, test/support/rtsp-server.py) on 127.0.0.1 that
// tests can stop and restart on the same port to simulate a camera going away and coming back.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// the system interpreter: the pyenv `python3` on PATH has no gi bindings
const PYTHON = process.env.VIGIL_PYTHON ?? '/usr/bin/python3'
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'rtsp-server.py')

export interface RtspServer {
  url: string
  port: number
  /** pid of the server process (null while stopped), e.g. to SIGSTOP it and simulate a hung camera */
  pid(): number | null
  stop(): Promise<void>
  /** starts the server again on the same port (after stop(), or restarts a running one) */
  restart(): Promise<void>
}

export interface RtspServerOptions {
  file: string
  port?: number
  mount?: string
  /** times the clip is concatenated so the stream outlasts a test (default 30) */
  repeat?: number
}

let availability: { ok: boolean; why?: string } | null = null

/** Whether the GStreamer RTSP server can run here; `why` says what is missing. */
export function rtspAvailable(): { ok: boolean; why?: string } {
  if (availability) return availability
  if (!existsSync(PYTHON)) return (availability = { ok: false, why: `${PYTHON} not found` })
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); from gi.repository import Gst, GstRtspServer"
    ],
    { encoding: 'utf8', timeout: 15_000 }
  )
  if (r.status !== 0) {
    const msg = (r.stderr || r.error?.message || 'unknown error').trim().split('\n').pop() ?? ''
    return (availability = { ok: false, why: `GStreamer RTSP server bindings unavailable in ${PYTHON}: ${msg}` })
  }
  return (availability = { ok: true })
}

/** A port that was free a moment ago (the usual bind-to-0 race is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))))
    })
  })
}

function launch(port: number, mount: string, file: string, repeat: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // stdin stays a pipe: the server quits when it closes, so a crashed test leaves no server behind
    const proc = spawn(PYTHON, [SCRIPT, String(port), mount, file, '--repeat', String(repeat)], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`RTSP server did not start within 20 s: ${err.trim().slice(-500)}`))
    }, 20_000)
    proc.stdout.setEncoding('utf8')
    proc.stderr.setEncoding('utf8')
    proc.stderr.on('data', (s: string) => {
      err = (err + s).slice(-4000)
    })
    proc.stdout.on('data', (s: string) => {
      out += s
      if (/^READY/m.test(out)) {
        clearTimeout(timer)
        resolve(proc)
      } else if (/^ERROR/m.test(out)) {
        clearTimeout(timer)
        proc.kill('SIGKILL')
        reject(new Error(`RTSP server failed: ${out.trim()}`))
      }
    })
    proc.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`RTSP server exited (${String(code)}) before READY: ${(out + err).trim().slice(-500)}`))
    })
  })
}

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000)
    proc.once('exit', () => {
      clearTimeout(t)
      resolve()
    })
    proc.kill('SIGTERM')
  })
}

export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const avail = rtspAvailable()
  if (!avail.ok) throw new Error(avail.why)
  if (!existsSync(opts.file)) throw new Error(`RTSP test clip not found: ${opts.file}`)
  const port = opts.port ?? (await freePort())
  const mount = (opts.mount ?? '/cam').replace(/^(?!\/)/, '/')
  const repeat = opts.repeat ?? 30
  let proc: ChildProcess | null = await launch(port, mount, opts.file, repeat)
  return {
    url: `rtsp://127.0.0.1:${port}${mount}`,
    port,
    pid: () => proc?.pid ?? null,
    async stop() {
      const p = proc
      proc = null
      if (p) await kill(p)
    },
    async restart() {
      const p = proc
      proc = null
      if (p) await kill(p)
      // the old socket may linger a moment; retry briefly rather than fail the test
      let lastErr: unknown = null
      for (let i = 0; i < 10; i++) {
        try {
          proc = await launch(port, mount, opts.file, repeat)
          return
        } catch (e) {
          lastErr = e
          await new Promise((r) => setTimeout(r, 500))
        }
      }
      throw lastErr instanceof Error ? lastErr : new Error(String(lastErr))
    }
  }
}
