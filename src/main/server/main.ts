// Plain-Node entry of browser mode: `node --import tsx src/main/server/main.ts [--host H] [--port P]
// [--token T] [--data-dir D] [--static-dir S]`. Prints the URL to open; SIGINT/SIGTERM close cleanly.
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { BackendOptions, VigilBackend } from '../contracts'
import { isLoopbackHost, resolveToken } from './net-policy'
import { REPO_ROOT, packageVersion, parsePort, startServer, type RunningServer } from './server'

const USAGE = `usage: node --import tsx src/main/server/main.ts [options]
  --host <addr>       bind address (default 127.0.0.1; non-loopback requires a token)
  --port <n>          port, 0 = any free port (default VIGIL_PORT or 0)
  --token <t>         access token for the API (or VIGIL_TOKEN); generated when binding off loopback
  --data-dir <dir>    where db.json and media live (default VIGIL_DATA_DIR or the Electron app's data dir)
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
  staticDir: string | undefined
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
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
  return {
    host: values.host,
    port: parsePort(values.port),
    token: values.token ?? env.VIGIL_TOKEN,
    dataDir: dataDir ? resolve(dataDir) : defaultDataDir(env),
    staticDir: values['static-dir'] ? resolve(values['static-dir']) : undefined
  }
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
        `the engine (src/main/app/create-backend.ts) is not available in this checkout: ${(err as Error).message}`
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

  try {
    // Refuse a weak token before spending seconds loading models.
    resolveToken(cli.host ?? '127.0.0.1', cli.token)
  } catch (err) {
    console.error(`vigil: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(2)
  }
  const createBackend = await loadCreateBackend()
  // Resolved from this checkout, not the cwd, so the server can be started from any directory.
  const modelsDir = process.env.VIGIL_MODELS_DIR || resolve(REPO_ROOT, 'models')
  const backend = await createBackend({
    mode: 'browser',
    dataDir: cli.dataDir,
    modelsDir,
    exposed: !isLoopbackHost(cli.host ?? '127.0.0.1')
  })
  let server: RunningServer
  try {
    server = await startServer({
      backend,
      host: cli.host,
      port: cli.port,
      token: cli.token,
      staticDir: cli.staticDir,
      version: packageVersion()
    })
  } catch (err) {
    await backend.close().catch(() => undefined)
    throw err
  }

  console.log(`Vigil browser mode: open ${server.url}`)
  console.log(`  data: ${cli.dataDir}`)
  if (server.token) {
    console.log(
      `  access token: ${server.token}${server.tokenGenerated ? ' (generated: this address is reachable from other machines)' : ''}`
    )
    // The console reads ?token= once, then drops it from the address bar; the server never logs URLs.
    console.log(`  with token:   ${server.url}?token=${encodeURIComponent(server.token)}`)
  }
  if (!isLoopbackHost(server.host)) console.log('  warning: serving over plain HTTP; use it only on a trusted network')

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
