// A real, private PostgreSQL server per test file: initdb into a temp dir, postgres on a free
// port of 127.0.0.1 (its unix socket in the temp dir, so parallel engineers and CI runs never
// meet), one database, a postgres:// URL. Stopped and removed on teardown.
//
// As root (CI, this machine), initdb refuses to run, so the server runs as the Debian `postgres`
// user via runuser and the temp dir is handed to it.
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { skipUnless } from './data'

const run = promisify(execFile)

const PG_ROOT = '/usr/lib/postgresql'

/** bin dir of the newest installed PostgreSQL ($VIGIL_PG_BIN wins), or null. */
export function pgBinDir(): string | null {
  const fromEnv = process.env.VIGIL_PG_BIN
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : null
  if (!existsSync(PG_ROOT)) return null
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(PG_ROOT, versions[0], 'bin') : null
}

const isRoot = (): boolean => process.getuid?.() === 0

/** uid/gid of the `postgres` system user, or null when it does not exist. */
function postgresUser(): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (r.status !== 0 || g.status !== 0) return null
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
}

/**
 * For describe.skipIf: true (skip, with the reason printed) where no PostgreSQL server binaries
 * are installed; under VIGIL_REQUIRE_ALL=1 it throws instead (CI installs `postgresql`).
 */
export function skipWithoutPostgres(suite: string): boolean {
  const bin = pgBinDir()
  return skipUnless(suite, [
    [bin !== null, `PostgreSQL server binaries not found in ${PG_ROOT}/*/bin (apt-get install postgresql)`],
    [!isRoot() || postgresUser() !== null, 'running as root but there is no `postgres` user to run the server as']
  ])
}

export interface PgServerOptions {
  /**
   * Real fsync and synchronous commits. Off by default: tests that are not about durability do
   * not need the disk flushes, which cost seconds per file on a shared machine.
   */
  durable?: boolean
}

export interface PgServer {
  /** URL of the database created for the test file */
  readonly url: string
  readonly port: number
  readonly dataDir: string
  /** creates one more empty database on this server and returns its URL */
  createDatabase(name: string): Promise<string>
  /** SIGKILL to the postmaster and every backend: a crash, no shutdown checkpoint */
  crash(): Promise<void>
  /** starts the server again on the same data dir and port (after crash or stop) */
  restart(): Promise<void>
  /** stops the server and removes its files */
  stop(): Promise<void>
}

/** A port that was free a moment ago (the server start retries when it was taken since). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Runs a server binary, as the postgres user when we are root. */
async function pgExec(bin: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]
  try {
    const { stdout } = await run(cmd, argv, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } })
    return stdout
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string }
    throw new Error(`${bin} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}`, { cause: e })
  }
}

/**
 * Starts a fresh server and creates database `vigil_test` on it. Call once per test file
 * (beforeAll) and stop() in afterAll.
 */
export async function startPostgres(opts: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir()
  if (!bin) throw new Error('PostgreSQL server binaries not found (check skipWithoutPostgres first)')
  const root = await mkdtemp(join(tmpdir(), 'vigil-pg-'))
  const dataDir = join(root, 'data')
  const sockDir = root
  const logFile = join(root, 'server.log')
  const user = isRoot() ? postgresUser() : null
  if (isRoot() && !user) throw new Error('running as root but there is no `postgres` user')
  if (user) await chown(root, user.uid, user.gid)
  await chmod(root, 0o700)
  const superuser = user ? 'postgres' : userInfo().username

  await pgExec(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    superuser,
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    // the data dir is thrown away after the test; durable tests flush on every commit anyway
    '--no-sync'
  ])

  const durable = opts.durable === true
  const settings = [
    `listen_addresses=127.0.0.1`,
    `unix_socket_directories=${sockDir}`,
    `fsync=${durable ? 'on' : 'off'}`,
    `synchronous_commit=${durable ? 'on' : 'off'}`,
    `full_page_writes=${durable ? 'on' : 'off'}`,
    'max_connections=60',
    'shared_buffers=32MB',
    // a test server must not fill the shared /tmp with WAL between checkpoints
    'max_wal_size=256MB'
  ]

  let port = 0
  const start = async (): Promise<void> => {
    const o = [`-p ${port}`, ...settings.map((s) => `-c ${s}`)].join(' ')
    await pgExec(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-o', o, '-w', '-t', '60', 'start'], 90_000)
  }

  let lastError: Error | undefined
  for (let attempt = 0; attempt < 4; attempt++) {
    port = await freePort()
    try {
      await start()
      lastError = undefined
      break
    } catch (e) {
      // most likely someone else took the port between freePort() and the bind: try another
      lastError = new Error(`${e instanceof Error ? e.message : String(e)}\n${tail(logFile)}`, { cause: e })
    }
  }
  if (lastError) {
    await rm(root, { recursive: true, force: true })
    throw lastError
  }

  const base = `postgres://${encodeURIComponent(superuser)}@127.0.0.1:${port}`
  const psql = (sql: string): Promise<string> =>
    pgExec(join(bin, 'psql'), [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      superuser,
      '-d',
      'postgres',
      '-c',
      sql
    ])
  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad test database name ${name}`)
    await psql(`CREATE DATABASE ${name}`)
    return `${base}/${name}`
  }
  const url = await createDatabase('vigil_test')

  const postmasterPid = (): number | null => {
    try {
      return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    } catch {
      return null
    }
  }
  let stopped = false
  return {
    url,
    port,
    dataDir,
    createDatabase,
    async crash() {
      const pid = postmasterPid()
      if (!pid) throw new Error('postgres is not running')
      // the whole server at once, like a power cut for the processes: postmaster and backends
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean)
        .map(Number)
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      // wait until every process is really gone: a backend still attached to the shared memory
      // makes the next postmaster refuse to start
      const all = [pid, ...children]
      for (let i = 0; i < 400 && all.some(alive); i++) await new Promise((r) => setTimeout(r, 25))
      // Killed processes stay zombies until init reaps them (seconds here), and the next
      // postmaster takes a zombie's pid in postmaster.pid for a running server. Everything is dead,
      // so the lock files (data dir and unix socket) are stale.
      await rm(join(dataDir, 'postmaster.pid'), { force: true })
      await rm(join(sockDir, `.s.PGSQL.${port}.lock`), { force: true })
      await rm(join(sockDir, `.s.PGSQL.${port}`), { force: true })
    },
    async restart() {
      try {
        await start()
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tail(logFile)}`, { cause: e })
      }
    },
    async stop() {
      if (stopped) return
      stopped = true
      try {
        if (postmasterPid()) await pgExec(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
      } catch {
        const pid = postmasterPid()
        if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
      } finally {
        await rm(root, { recursive: true, force: true })
      }
    }
  }
}

/** Running, not merely a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the state letter follows the parenthesised command name
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return '(no server log)'
  }
}
