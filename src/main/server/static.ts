// Serves the built renderer. Every request path is confined to the static directory; anything
// that is not a file there falls back to index.html so client-side routes survive a reload.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json'
}

export function mimeOf(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

export type StaticTarget =
  /** wantsPage: when no such file exists, answer with index.html rather than 404 */
  { kind: 'path'; path: string; wantsPage: boolean } | { kind: 'refused'; status: 400 | 403; reason: string }

/**
 * Maps a request URL to a path inside root, refusing anything that could escape it: encoded
 * dot-segments, backslashes (Windows separators), NUL bytes, and dotfiles.
 */
export function resolveStaticPath(root: string, rawUrl: string): StaticTarget {
  const base = resolve(root)
  const q = rawUrl.search(/[?#]/)
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl
  if (!rawPath.startsWith('/')) return { kind: 'refused', status: 400, reason: 'request path must be absolute' }
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return { kind: 'refused', status: 400, reason: 'malformed percent-encoding' }
  }
  if (decoded.includes('\0') || decoded.includes('\\'))
    return { kind: 'refused', status: 400, reason: 'illegal character in path' }
  const segments = decoded.split('/')
  if (segments.some((s) => s === '..')) return { kind: 'refused', status: 403, reason: 'path traversal refused' }
  if (segments.some((s) => s.startsWith('.') && s !== '.' && s !== '')) {
    return { kind: 'refused', status: 403, reason: 'hidden files are not served' }
  }
  const full = resolve(base, '.' + decoded)
  if (full !== base && !full.startsWith(base + sep))
    return { kind: 'refused', status: 403, reason: 'path traversal refused' }
  const last = segments[segments.length - 1] ?? ''
  // Only extension-less paths are client routes; a missing /assets/x.js must 404, not return HTML.
  return { kind: 'path', path: full, wantsPage: extname(last) === '' || extname(last) === '.html' }
}

export interface StaticOptions {
  root: string
  headers: Record<string, string>
}

async function isFile(path: string): Promise<number | null> {
  try {
    const s = await stat(path)
    return s.isFile() ? s.size : null
  } catch {
    return null
  }
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(text + '\n')
}

export async function serveStatic(req: IncomingMessage, res: ServerResponse, opts: StaticOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    plain(res, 405, 'method not allowed', opts.headers)
    return
  }
  const target = resolveStaticPath(opts.root, req.url ?? '/')
  if (target.kind === 'refused') {
    plain(res, target.status, target.reason, opts.headers)
    return
  }
  let path = target.path
  let size = await isFile(path)
  if (size === null) {
    if (!target.wantsPage) {
      if (target.path === resolve(opts.root, 'favicon.ico')) {
        // Browsers ask for it unprompted; a 404 would show up as a console error on every load.
        res.writeHead(204, { ...opts.headers, 'Cache-Control': 'public, max-age=86400' })
        res.end()
        return
      }
      plain(res, 404, 'not found', opts.headers)
      return
    }
    path = resolve(opts.root, 'index.html')
    size = await isFile(path)
    if (size === null) {
      plain(res, 503, 'the console is not built yet: run `npm run build` (or `npm start -- --browser`)', opts.headers)
      return
    }
  }
  const hashedAsset = /[\\/]assets[\\/]/.test(path.slice(resolve(opts.root).length))
  res.writeHead(200, {
    ...opts.headers,
    'Content-Type': mimeOf(path),
    'Content-Length': String(size),
    // Vite fingerprints everything under assets/; index.html must be revalidated to pick up new builds.
    'Cache-Control': hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache'
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const stream = createReadStream(path)
  stream.on('error', () => res.destroy())
  stream.pipe(res)
}
