// Harness for browser tests: system Chromium through playwright-core, the real browser-mode
// server as a child process, a page guard that fails the test on any console error, screenshots.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core'
import { onTestFinished } from 'vitest'

export const repoRoot = resolve(import.meta.dirname, '../../..')
export const CHROMIUM_PATH = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium'
export const SHOT_DIR = join(repoRoot, 'test-output', 'browser')

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync'
]

export function chromiumAvailable(): { ok: boolean; why?: string } {
  if (!existsSync(CHROMIUM_PATH)) return { ok: false, why: `no Chromium at ${CHROMIUM_PATH} (set VIGIL_CHROMIUM)` }
  const r = spawnSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', timeout: 15_000 })
  if (r.status !== 0)
    return {
      ok: false,
      why: `${CHROMIUM_PATH} --version failed: ${(r.stderr || String(r.error ?? '')).trim().slice(0, 200)}`
    }
  return { ok: true }
}

export function rendererBuilt(): { ok: boolean; why?: string } {
  return existsSync(join(repoRoot, 'out/renderer/index.html'))
    ? { ok: true }
    : { ok: false, why: 'out/renderer/index.html is missing: run `npm run build` (npm run test:browser does)' }
}

export interface LaunchedBrowser {
  context: BrowserContext
  close(): Promise<void>
}

/** A fresh profile every time: no cookies, storage or service workers leak between tests. */
export async function launchChromium(extraArgs: string[] = []): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'vigil-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'dark'
  })
  return {
    context,
    async close() {
      await context.close().catch(() => undefined)
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

export interface VigilServer {
  url: string
  dataDir: string
  token: string | null
  output(): string
  stop(): Promise<void>
}

export interface StartOptions {
  /** module exporting createBackend; default the real engine (src/main/app/create-backend.ts) */
  backendModule?: string
  /** default: a fresh temp dir, removed on stop */
  dataDir?: string
  args?: string[]
  env?: Record<string, string>
  timeoutMs?: number
}

/** Spawns the real browser-mode entry point and waits for the URL it prints. */
export async function startVigil(opts: StartOptions = {}): Promise<VigilServer> {
  const ownDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-browser-data-'))
  const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_PORT: '', ...opts.env }
  if (opts.backendModule) env.VIGIL_BACKEND_MODULE = resolve(repoRoot, opts.backendModule)
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main/server/main.ts', '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`server printed no URL within ${opts.timeoutMs ?? 90_000} ms:\n${out}`)),
      opts.timeoutMs ?? 90_000
    )
    const check = (): void => {
      const m = /Vigil browser mode: open (https?:\/\/\S+)/.exec(out)
      if (m?.[1]) {
        clearTimeout(timer)
        done(m[1])
      }
    }
    child.stdout?.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      fail(new Error(`server exited with ${code} before printing its URL:\n${out}`))
    })
  }).catch((err: unknown) => {
    // A server that never came up must not outlive the test run.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (ownDir) rmSync(dataDir, { recursive: true, force: true })
    throw err
  })
  const token = /access token: (\S+)/.exec(out)?.[1] ?? null

  return {
    url,
    dataDir,
    token,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(killer)
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export interface GuardedPage {
  page: Page
  /** console errors and uncaught exceptions seen so far */
  problems: string[]
  /** throws if the page logged an error; also runs automatically when the test finishes */
  assertClean(): void
}

/**
 * Opens a page that fails the current test on any console.error or uncaught exception: a console
 * that "works" while throwing in the background is broken. Call inside a test.
 */
export async function guardedPage(context: BrowserContext, opts: { allow?: RegExp[] } = {}): Promise<GuardedPage> {
  const page = await context.newPage()
  const problems: string[] = []
  const allowed = (text: string): boolean => (opts.allow ?? []).some((r) => r.test(text))
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return
    const loc = msg.location()
    const text = `console.error: ${msg.text()}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`
    if (!allowed(text)) problems.push(text)
  })
  page.on('pageerror', (err: Error) => {
    const text = `pageerror: ${err.message}\n${err.stack ?? ''}`
    if (!allowed(text)) problems.push(text)
  })
  const guard: GuardedPage = {
    page,
    problems,
    assertClean() {
      if (problems.length > 0) throw new Error(`the page reported ${problems.length} error(s):\n${problems.join('\n')}`)
    }
  }
  onTestFinished(() => guard.assertClean())
  return guard
}

/** Full-page screenshot at test-output/browser/<name>.png; returns the path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOT_DIR, { recursive: true })
  const file = join(SHOT_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}
