#!/usr/bin/env node
// `npm start` — runs the console as an Electron app when it can, otherwise in browser mode.
//   npm start                 Electron if its binary and a display exist, else browser mode
//   npm start -- --browser    browser mode always; other flags go to the server
//                             (--host, --port, --token, --data-dir, --static-dir)
// Builds what is missing or older than its sources first, and says which mode it chose and why.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const argv = process.argv.slice(2)
const forceBrowser = argv.includes('--browser')
// Prints the decision and what would be built, then exits: lets tests check the choice.
const dryRun = argv.includes('--dry-run')
/**
 * A token given as an argument would be copied onto the child's command line, readable by every
 * local user in `ps`: it is taken out of the arguments and handed over in VIGIL_TOKEN instead.
 * @returns {{ args: string[], token: string | undefined }}
 */
function extractToken(args) {
  const out = []
  let token
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--token') {
      token = args[++i]
    } else if (a.startsWith('--token=')) {
      token = a.slice('--token='.length)
    } else out.push(a)
  }
  return { args: out, token }
}
const extracted = extractToken(argv.filter((a) => a !== '--browser' && a !== '--dry-run'))
const forward = extracted.args
const childEnv = { ...process.env }
if (extracted.token !== undefined) {
  childEnv.VIGIL_TOKEN = extracted.token
  console.log(
    '[vigil] warning: --token is visible to every local user in ps while this launcher runs; prefer VIGIL_TOKEN=… npm start or --token-file (passed to the server in its environment, not its command line)'
  )
}
const say = (msg) => console.log(`[vigil] ${msg}`)

if (argv.includes('--help') || argv.includes('-h')) {
  console.log(`usage: npm start [-- --browser] [--dry-run] [--host H] [--port P] [--token-file F] [--insecure] [--data-dir D]
  Electron when node_modules/electron has its binary and a display is available; otherwise (or
  with --browser) a local web server on 127.0.0.1 whose URL is printed.`)
  process.exit(0)
}

/** @returns {{ ok: true, path: string } | { ok: false, why: string }} */
function electronBinary() {
  const pkgDir = join(root, 'node_modules', 'electron')
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  let exe
  if (override) {
    exe = join(
      override,
      process.platform === 'darwin'
        ? 'Electron.app/Contents/MacOS/Electron'
        : process.platform === 'win32'
          ? 'electron.exe'
          : 'electron'
    )
  } else {
    const pathTxt = join(pkgDir, 'path.txt')
    if (!existsSync(pathTxt))
      return { ok: false, why: 'the Electron binary is not installed (node_modules/electron/path.txt is missing)' }
    exe = join(pkgDir, 'dist', readFileSync(pathTxt, 'utf8').trim())
  }
  if (!existsSync(exe)) return { ok: false, why: `the Electron binary ${exe} does not exist` }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { ok: false, why: 'no display is available (DISPLAY and WAYLAND_DISPLAY are unset)' }
  }
  return { ok: true, path: exe }
}

/** Newest modification time of any file below the given paths (node_modules and dotfiles skipped). */
function newestMtime(paths) {
  let newest = 0
  const walk = (p) => {
    let st
    try {
      st = statSync(p)
    } catch {
      return
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) {
        if (name === 'node_modules' || name.startsWith('.')) continue
        walk(join(p, name))
      }
    } else if (st.mtimeMs > newest) {
      newest = st.mtimeMs
    }
  }
  for (const p of paths) walk(join(root, p))
  return newest
}

/** @returns {string | null} why a rebuild is needed, or null when the outputs are current */
function staleness(outputs, sources) {
  const missing = outputs.find((o) => !existsSync(join(root, o)))
  if (missing) return `${missing} is missing`
  const oldestOut = Math.min(...outputs.map((o) => statSync(join(root, o)).mtimeMs))
  return newestMtime(sources) > oldestOut ? 'sources changed since the last build' : null
}

function run(cmd, args, opts = {}) {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
    child.on('error', fail)
    child.on('exit', (code, signal) => done(signal ? 1 : (code ?? 1)))
  })
}

const electronVite = join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js')

async function buildAll() {
  const code = await run(process.execPath, [electronVite, 'build'])
  if (code !== 0) throw new Error(`electron-vite build failed (exit ${code})`)
}

/** Browser mode needs only the renderer: a broken main-process build must not block it. */
async function buildRenderer() {
  const code = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `process.env.NODE_ENV_ELECTRON_VITE = 'production'
     const { resolveConfig } = await import('electron-vite')
     const { build } = await import('vite')
     const cfg = await resolveConfig({ root: ${JSON.stringify(root)} }, 'build', 'production')
     if (!cfg.config?.renderer) throw new Error('electron.vite.config has no renderer section')
     await build(cfg.config.renderer)`
  ])
  if (code !== 0) throw new Error(`renderer build failed (exit ${code})`)
}

/**
 * Runs the app in its own process group so a terminal Ctrl-C reaches it once, through us, rather
 * than twice (once from the terminal, once forwarded), which the server reads as "force quit".
 */
async function supervise(cmd, args, env) {
  const detached = process.platform !== 'win32'
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env, detached })
  const forwardSignal = (sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => forwardSignal(sig))
  process.on('exit', () => forwardSignal('SIGTERM'))
  const code = await new Promise((done, fail) => {
    child.on('error', fail)
    child.on('exit', (c, signal) => done(signal ? 1 : (c ?? 1)))
  })
  process.exit(code)
}

async function main() {
  const electron = forceBrowser ? { ok: false, why: '--browser was given' } : electronBinary()

  if (electron.ok) {
    say(`starting the Electron app (binary ${electron.path})`)
    const why = staleness(
      ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'],
      ['src', 'electron.vite.config.ts', 'package.json']
    )
    if (why) say(`building (${why})`)
    if (dryRun) return say(`dry run: would run ${electron.path} ${[root, ...forward].join(' ')}`)
    if (why) await buildAll()
    const env = { ...childEnv }
    // Set by some shells and CI; it would make the Electron binary behave as plain Node.
    delete env.ELECTRON_RUN_AS_NODE
    await supervise(electron.path, [root, ...forward], env)
    return
  }

  say(`starting in browser mode because ${electron.why}`)
  const why = staleness(['out/renderer/index.html'], ['src/renderer', 'src/shared', 'electron.vite.config.ts'])
  if (why) say(`building the console (${why})`)
  if (dryRun) return say(`dry run: would run node --import tsx src/main/server/main.ts ${forward.join(' ')}`)
  if (why) await buildRenderer()
  say('the server prints the URL to open below')
  await supervise(process.execPath, ['--import', 'tsx', join(root, 'src/main/server/main.ts'), ...forward], childEnv)
}

main().catch((err) => {
  console.error(`[vigil] ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
