// Pure URL rules behind the Electron security restrictions and the IPC sender check.
// Kept free of Electron imports so they are unit-tested in plain Node.
import { fileURLToPath } from 'node:url'
import { resolve, sep } from 'node:path'

/** Where the console's own pages come from. */
export type AppSource =
  | { kind: 'file'; rendererDir: string }
  /** electron-vite dev server (ELECTRON_RENDERER_URL) */
  | { kind: 'dev'; origin: string }

/**
 * The dev server URL, trusted only in a development build (electron-vite dev compiles
 * `import.meta.env.DEV` to true; `electron-vite build`, which `npm start` runs, to false). An
 * ELECTRON_RENDERER_URL inherited by a built app would otherwise make any http origin "the app",
 * with the preload API exposed to it. Loopback only: a dev server is never remote.
 */
export function devRendererUrl(env: NodeJS.ProcessEnv, devBuild: boolean): string | undefined {
  if (!devBuild) return undefined
  const raw = env.ELECTRON_RENDERER_URL
  const u = raw ? safeUrl(raw) : null
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return undefined
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return host === 'localhost' || host === '::1' || /^127\./.test(host) ? raw : undefined
}

export function appSourceFrom(rendererUrl: string | undefined, rendererDir: string): AppSource {
  if (rendererUrl) {
    const u = safeUrl(rendererUrl)
    if (u && (u.protocol === 'http:' || u.protocol === 'https:')) return { kind: 'dev', origin: u.origin }
  }
  return { kind: 'file', rendererDir: resolve(rendererDir) }
}

function safeUrl(raw: string): URL | null {
  try {
    return new URL(raw)
  } catch {
    return null
  }
}

/**
 * True only for a page of the console itself. file:// pages must live inside the renderer
 * directory: any other local HTML file (a downloaded page, a file dropped on the window) is foreign.
 */
export function isAppUrl(raw: string | null | undefined, source: AppSource): boolean {
  if (!raw) return false
  const u = safeUrl(raw)
  if (!u) return false
  if (source.kind === 'dev') return u.origin === source.origin
  if (u.protocol !== 'file:' || (u.host !== '' && u.host !== 'localhost')) return false
  let path: string
  try {
    path = resolve(fileURLToPath(u))
  } catch {
    return false
  }
  return path === source.rendererDir || path.startsWith(source.rendererDir + sep)
}

/**
 * Links the console may hand to the system browser. Empty by default: nothing in the console
 * needs to open an outside page, and an allowlist keeps injected links from reaching the OS.
 */
export const EXTERNAL_ALLOWLIST: readonly string[] = []

export function isAllowedExternal(raw: string, allowlist: readonly string[] = EXTERNAL_ALLOWLIST): boolean {
  const u = safeUrl(raw)
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return false
  if (u.username || u.password) return false
  return allowlist.includes(u.origin)
}
