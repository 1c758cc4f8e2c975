// Test helper: a real Mosquitto broker on 127.0.0.1 (Debian package `mosquitto`, installed by
// .ci/run) that tests stop and restart on the same port to simulate a broker outage. Persistence
// is on so a subscriber's persistent session (and its queued QoS 1 messages) survives a restart,
// as with a production broker.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './rtsp'

export const MOSQUITTO = process.env.VIGIL_MOSQUITTO ?? '/usr/sbin/mosquitto'
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'
const run = promisify(execFile)

export function mosquittoAvailable(): { ok: boolean; why?: string } {
  return existsSync(MOSQUITTO)
    ? { ok: true }
    : { ok: false, why: `${MOSQUITTO} not found (Debian package mosquitto; .ci/run installs it)` }
}

export interface Broker {
  url: string
  port: number
  stop(): Promise<void>
  /** starts it again on the same port with the same persistence file */
  restart(): Promise<void>
  /** stops it and removes its files */
  dispose(): Promise<void>
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    sock.once('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.once('error', () => resolve(false))
  })
}

async function launch(conf: string, port: number): Promise<ChildProcess> {
  const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr?.on('data', (s: Buffer) => {
    log = (log + s.toString()).slice(-4000)
  })
  const until = Date.now() + 10_000
  // ready = accepting connections (its log lines are buffered and say nothing reliable)
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited (${String(proc.exitCode)}): ${log.slice(-500)}`)
    if (await portOpen(port)) return proc
    await new Promise((r) => setTimeout(r, 100))
  }
  proc.kill('SIGKILL')
  throw new Error(`mosquitto did not accept connections within 10 s: ${log.slice(-500)}`)
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

export interface BrokerOptions {
  /** PEMs of the server certificate, its key and the CA that signed it: the listener speaks TLS */
  tls?: { cert: string; key: string; ca: string }
  /** user → password; anonymous clients are refused when given */
  users?: Record<string, string>
}

export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  const avail = mosquittoAvailable()
  if (!avail.ok) throw new Error(avail.why)
  const dir = await mkdtemp(join(tmpdir(), 'vigil-mqtt-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    // as root mosquitto would switch to the `mosquitto` user, which cannot read this private dir
    `user ${userInfo().username}`
  ]
  if (opts.users) {
    const file = join(dir, 'passwd')
    await writeFile(file, '')
    for (const [user, pass] of Object.entries(opts.users)) await run(MOSQUITTO_PASSWD, ['-b', file, user, pass])
    lines.push('allow_anonymous false', `password_file ${file}`)
  } else lines.push('allow_anonymous true')
  if (opts.tls) {
    for (const [name, pem] of Object.entries(opts.tls)) await writeFile(join(dir, `${name}.pem`), pem)
    lines.push(`cafile ${dir}/ca.pem`, `certfile ${dir}/cert.pem`, `keyfile ${dir}/key.pem`)
  }
  await writeFile(conf, lines.join('\n') + '\n')
  let proc: ChildProcess | null = await launch(conf, port)
  const stop = async (): Promise<void> => {
    const p = proc
    proc = null
    if (p) await kill(p)
  }
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await stop()
      let last: unknown = null
      for (let i = 0; i < 10; i++) {
        try {
          proc = await launch(conf, port)
          return
        } catch (e) {
          last = e
          await new Promise((r) => setTimeout(r, 300))
        }
      }
      throw last instanceof Error ? last : new Error(String(last))
    },
    async dispose() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
