// Plain-Node entry of browser mode: `node --import tsx src/main/server/main.ts [--host H] [--port P]
// [--token T] [--data-dir D] [--db URL] [--static-dir S]`. Prints the URL to open; SIGINT/SIGTERM close cleanly.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { dispatchLogger } from '../api/dispatch'
import type { BackendOptions, VigilBackend } from '../contracts'
import { createLogger } from '../log/pino'
import { chooseTransport, DEFAULT_PORT, isLoopbackHost, resolveToken } from './net-policy'
import { loadOrCreateTls, type TlsMaterial } from './tls'
import { REPO_ROOT, packageVersion, parsePort, startServer, type RunningServer } from './server'

const USAGE = `usage: node --import tsx src/main/server/main.ts [options]
  --host <addr>       bind address (default 127.0.0.1; off loopback: token + HTTPS required)
  --port <n>          port, 0 = any free port (default VIGIL_PORT, else ${DEFAULT_PORT} or the next free one)
  --token-file <f>    file holding the API access token (or VIGIL_TOKEN / VIGIL_TOKEN_FILE); off
                      loopback without one, a token is generated once and kept in <data-dir>/access-token
  --token <t>         the token itself: visible to every local user in ps, prefer VIGIL_TOKEN
  --tls               serve HTTPS/WSS also on loopback (always on off loopback)
  --tls-cert <f> --tls-key <f>   your certificate instead of the self-signed one in <data-dir>/tls
  --insecure          plain HTTP off loopback (the token and images cross the network unencrypted)
  --data-dir <dir>    where settings.json, vigil.db and media live (default VIGIL_DATA_DIR or the Electron app's data dir)
  --db <url>          postgres://user:pass@host/db to share history, gallery and review with other
                      instances (default VIGIL_DB, then settings.json "database", then SQLite in the data dir)
  --static-dir <dir>  built console to serve (default out/renderer)`

/** Same place Electron's app.getPath('userData')/data points to, so both modes share one gallery. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): string {
  if (env.VIGIL_DATA_DIR) return resolve(env.VIGIL_DATA_DIR)
  const home = homedir()
  const appData =
    platform === 'win32'
      ? (env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : (env.XDG_CONFIG_HOME ?? join(home, '.config'))
  return join(appData, 'vigil', 'data')
}

export interface CliOptions {
  host: string | undefined
  port: number | undefined
  token: string | undefined
  dataDir: string
  /** database URL from --db (VIGIL_DB and settings.json are read by the backend) */
  db: string | undefined
  staticDir: string | undefined
  tls: boolean
  insecure: boolean
  tlsFiles: { certFile: string; keyFile: string } | undefined
  /** things the operator should know about how the options were given */
  warnings: string[]
}

export const TOKEN_ARG_WARNING =
  'warning: --token puts the access token on the command line, where every local user can read it (ps, /proc); use VIGIL_TOKEN or --token-file'

/** Reads a token file: the first line, trimmed. A file others can read gets a warning. */
export function readTokenFile(file: string): { token: string; warning: string | null } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new Error(`cannot read the token file ${file}: ${(e as Error).message}`, { cause: e })
  }
  const token = text.split(/\r?\n/)[0]?.trim() ?? ''
  if (!token) throw new Error(`the token file ${file} is empty`)
  const mode = process.platform === 'win32' ? 0 : statSync(file).mode & 0o077
  return {
    token,
    warning: mode ? `warning: the token file ${file} is readable by other users (chmod 600 ${file})` : null
  }
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      tls: { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      insecure: { type: 'boolean' },
      'data-dir': { type: 'string' },
      db: { type: 'string' },
      'static-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true,
    allowPositionals: true
  })
  if (values.help) return 'help'
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`)
  const dataDir = values['data-dir']
  if (dataDir !== undefined && !dataDir.trim()) throw new Error('--data-dir must not be empty')
  const warnings: string[] = []
  let token: string | undefined
  const tokenFile = values['token-file'] ?? env.VIGIL_TOKEN_FILE
  if (values.token !== undefined) {
    warnings.push(TOKEN_ARG_WARNING)
    token = values.token
  } else if (env.VIGIL_TOKEN) {
    token = env.VIGIL_TOKEN
  } else if (tokenFile) {
    const read = readTokenFile(resolve(tokenFile))
    token = read.token
    if (read.warning) warnings.push(read.warning)
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
    throw new Error('--tls-cert and --tls-key go together')
  if (values.insecure && (values.tls || values['tls-cert'])) throw new Error('--insecure contradicts --tls/--tls-cert')
  const tlsFiles =
    values['tls-cert'] && values['tls-key']
      ? { certFile: resolve(values['tls-cert']), keyFile: resolve(values['tls-key']) }
      : undefined
  return {
    host: values.host,
    port: parsePort(values.port),
    token,
    dataDir: dataDir ? resolve(dataDir) : defaultDataDir(env),
    db: values.db?.trim() || undefined,
    staticDir: values['static-dir'] ? resolve(values['static-dir']) : undefined,
    tls: values.tls === true || tlsFiles !== undefined,
    insecure: values.insecure === true,
    tlsFiles,
    warnings
  }
}

/**
 * Off loopback without a token: one generated on first start and kept (0600) in the data dir, so
 * a restart does not lock out every operator station.
 */
export function persistentToken(dataDir: string): { token: string; file: string; created: boolean } {
  const file = join(dataDir, 'access-token')
  if (existsSync(file)) return { token: readTokenFile(file).token, file, created: false }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(24).toString('base64url')
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
  return { token, file, created: true }
}

type CreateBackend = (opts: BackendOptions) => Promise<VigilBackend>

/**
 * Imported lazily so the shell (and its tests) load without the engine. VIGIL_BACKEND_MODULE
 * swaps in another module exporting createBackend: the browser-test harness uses it for a fake.
 */
async function loadCreateBackend(): Promise<CreateBackend> {
  const override = process.env.VIGIL_BACKEND_MODULE
  const spec = override
    ? pathToFileURL(isAbsolute(override) ? override : resolve(override)).href
    : new URL('../app/create-backend.ts', import.meta.url).href
  let mod: { createBackend?: unknown }
  try {
    mod = (await import(spec)) as { createBackend?: unknown }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && !override)
      throw new Error(
        `the engine (src/main/app/create-backend.ts) is not available in this checkout: ${(err as Error).message}`,
        { cause: err }
      )
    throw err
  }
  if (typeof mod.createBackend !== 'function') throw new Error(`${spec} does not export createBackend`)
  return mod.createBackend as CreateBackend
}

async function main(): Promise<void> {
  let cli: CliOptions | 'help'
  try {
    cli = parseCli(process.argv.slice(2))
  } catch (err) {
    console.error(`vigil: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`)
    process.exit(2)
  }
  if (cli === 'help') {
    console.log(USAGE)
    return
  }

  for (const w of cli.warnings) console.error(`vigil: ${w}`)
  const host = cli.host ?? '127.0.0.1'
  let tokenNote = ''
  if (!cli.token && !isLoopbackHost(host)) {
    const kept = persistentToken(cli.dataDir)
    cli.token = kept.token
    tokenNote = kept.created ? ` (generated, kept in ${kept.file})` : ` (from ${kept.file})`
  }
  try {
    // Refuse a weak token before spending seconds loading models.
    resolveToken(host, cli.token)
  } catch (err) {
    console.error(`vigil: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(2)
  }
  const transport = chooseTransport(host, { insecure: cli.insecure, tls: cli.tls })
  let tls: TlsMaterial | undefined
  if (transport.tls) tls = await loadOrCreateTls(cli.dataDir, host, cli.tlsFiles)
  const createBackend = await loadCreateBackend()
  // Resolved from this checkout, not the cwd, so the server can be started from any directory.
  const modelsDir = process.env.VIGIL_MODELS_DIR || resolve(REPO_ROOT, 'models')
  const { logger, file: logFile } = createLogger({ dataDir: cli.dataDir })
  const backend = await createBackend({
    mode: 'browser',
    dataDir: cli.dataDir,
    db: cli.db,
    modelsDir,
    logger,
    logFile,
    exposed: !isLoopbackHost(host)
  })
  let server: RunningServer
  try {
    server = await startServer({
      backend,
      host: cli.host,
      port: cli.port,
      token: cli.token,
      staticDir: cli.staticDir,
      version: packageVersion(),
      tls: tls ? { key: tls.key, cert: tls.cert } : undefined,
      log: dispatchLogger(logger.child({ box: 'server' }))
    })
  } catch (err) {
    await backend.close().catch(() => undefined)
    throw err
  }

  console.log(`Vigil browser mode: open ${server.url}`)
  if (server.portNote) console.log(`  note: ${server.portNote}`)
  console.log(`  data: ${cli.dataDir}`)
  if (tls) {
    console.log(`  TLS certificate: ${tls.certFile}${tls.generated ? ' (self-signed, generated now)' : ''}`)
    // operators compare this with what the browser shows before trusting the certificate
    console.log(`  certificate SHA-256 fingerprint: ${tls.fingerprint256}`)
    console.log(`  public key pin (SPKI SHA-256, base64): ${tls.spkiSha256}`)
  }
  if (server.token) {
    console.log(
      `  access token: ${server.token}${server.tokenGenerated ? ' (generated: this address is reachable from other machines)' : tokenNote}`
    )
    // The console reads ?token= once, then drops it from the address bar; the server never logs URLs.
    console.log(`  with token:   ${server.url}?token=${encodeURIComponent(server.token)}`)
  }
  if (!transport.tls && transport.warning) console.log(`  warning: ${transport.warning}`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      console.error(`vigil: second ${signal}, exiting now`)
      process.exit(1)
    }
    stopping = true
    console.log(`vigil: ${signal}, shutting down`)
    const force = setTimeout(() => {
      console.error('vigil: shutdown took longer than 10 s, exiting')
      process.exit(1)
    }, 10_000)
    force.unref()
    void (async () => {
      await server.close().catch((e: unknown) => console.error('vigil: closing server failed', e))
      await backend.close().catch((e: unknown) => console.error('vigil: closing backend failed', e))
      process.exit(0)
    })()
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href
if (isEntry) {
  main().catch((err: unknown) => {
    console.error(`vigil: ${err instanceof Error ? err.message : String(err)}`)
    if (err instanceof Error && err.stack && process.env.VIGIL_DEBUG) console.error(err.stack)
    process.exit(1)
  })
}
