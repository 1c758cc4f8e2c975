// Browser mode: the built console over HTTP plus the API over a WebSocket at /api, on loopback by
// default. Same contract as the Electron shell (dispatch + Envelope), different transport.
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { resolve } from 'node:path'
import { CSP_BROWSER, securityHeaders } from '../api/csp'
import { dispatchLogger, type DispatchLogger } from '../api/dispatch'
import { silentLogger } from '../log/logger'
import type { VigilBackend } from '../contracts'
import { checkHost, checkOrigin, DEFAULT_PORT, displayUrl, PORT_TRIES, resolveToken } from './net-policy'
import { serveStatic } from './static'
import { WsHub, type HubTuning } from './ws-hub'
import { REPO_ROOT } from '../util/paths'

export { REPO_ROOT }
export const DEFAULT_STATIC_DIR = resolve(REPO_ROOT, 'out/renderer')
export const API_PATH = '/api'

export interface ServerOptions {
  backend: VigilBackend
  /** default 127.0.0.1; anything not loopback requires a token (one is generated if absent) */
  host?: string
  /** default VIGIL_PORT, else 8471 or the next free port after it (0 = any free port) */
  port?: number
  /** serve HTTPS/WSS with this key and certificate (PEM) */
  tls?: { key: string; cert: string }
  /** default out/renderer of this checkout */
  staticDir?: string
  token?: string
  /** reported in the hello frame; default: package.json version */
  version?: string
  tuning?: Partial<HubTuning>
  log?: DispatchLogger
}

export interface RunningServer {
  /** the URL to open, e.g. http://127.0.0.1:43123/ */
  url: string
  port: number
  host: string
  token: string | undefined
  /** the token was generated because the bind address required one */
  tokenGenerated: boolean
  /** connected WebSocket clients */
  clientCount(): number
  secure: boolean
  /** set when the default port was taken and another was used */
  portNote: string | null
  close(): Promise<void>
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export function parsePort(raw: string | number | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`invalid port ${JSON.stringify(raw)}: expected an integer 0..65535`)
  return n
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable'
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = reason.replace(/[\r\n]/g, ' ')
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Forbidden'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  )
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host?.trim() || '127.0.0.1'
  const explicitPort = parsePort(opts.port) ?? parsePort(process.env.VIGIL_PORT)
  const secure = opts.tls !== undefined
  const { token, generated } = resolveToken(host, opts.token)
  const staticDir = resolve(opts.staticDir ?? DEFAULT_STATIC_DIR)
  const headers = securityHeaders(CSP_BROWSER)
  const log: DispatchLogger = opts.log ?? dispatchLogger(silentLogger)
  const hub = new WsHub({
    backend: opts.backend,
    version: opts.version ?? packageVersion(),
    token,
    tuning: opts.tuning,
    log
  })
  let port = explicitPort ?? DEFAULT_PORT

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const hostOk = checkHost(req.headers.host, host, port, secure)
    if (!hostOk.ok) {
      res.writeHead(hostOk.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(hostOk.reason + '\n')
      return
    }
    if ((req.url ?? '').split('?')[0] === API_PATH) {
      res.writeHead(426, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' })
      res.end('the API is a WebSocket\n')
      return
    }
    serveStatic(req, res, { root: staticDir, headers }).catch((err: unknown) => {
      log('static request failed', err)
      if (!res.headersSent) res.writeHead(500, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' })
      res.end()
    })
  }
  const server = opts.tls
    ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' }, onRequest)
    : createHttpServer(onRequest)

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const path = (req.url ?? '').split('?')[0]
    if (path !== API_PATH) return refuseUpgrade(socket, 404, 'no such endpoint')
    const hostOk = checkHost(req.headers.host, host, port, secure)
    if (!hostOk.ok) return refuseUpgrade(socket, hostOk.status, hostOk.reason)
    // Without this any web page open on the machine could drive the API through the user's browser.
    const originOk = checkOrigin(req.headers.origin, req.headers.host, secure)
    if (!originOk.ok) return refuseUpgrade(socket, originOk.status, originOk.reason)
    const limited = hub.refusal(req.socket.remoteAddress ?? 'unknown')
    if (limited) return refuseUpgrade(socket, limited.status, limited.reason)
    hub.handleUpgrade(req, socket, head)
  })

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  const listen = (p: number): Promise<void> =>
    new Promise<void>((done, fail) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening)
        fail(err)
      }
      const onListening = (): void => {
        server.off('error', onError)
        done()
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(p, host)
    })
  const explain = (err: unknown, p: number): Error => {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'EADDRINUSE'
      ? new Error(
          `port ${p} on ${host} is already in use (choose another with --port or VIGIL_PORT, 0 = any free port)`
        )
      : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
        ? new Error(`cannot bind to ${host}: no such local address`)
        : (err as Error)
  }
  let portNote: string | null = null
  try {
    if (explicitPort !== undefined) {
      await listen(explicitPort).catch((err: unknown) => {
        throw explain(err, explicitPort)
      })
    } else {
      // the stable default, or the next free one: said so, because bookmarks point at the default
      let bound = false
      for (let p = DEFAULT_PORT; p < DEFAULT_PORT + PORT_TRIES && !bound; p++) {
        try {
          await listen(p)
          bound = true
          if (p !== DEFAULT_PORT) portNote = `port ${DEFAULT_PORT} is in use; using ${p} instead`
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw explain(err, p)
        }
      }
      if (!bound)
        throw new Error(
          `ports ${DEFAULT_PORT}–${DEFAULT_PORT + PORT_TRIES - 1} on ${host} are all in use (choose one with --port, 0 = any free port)`
        )
    }
  } catch (err) {
    await hub.close()
    throw err
  }

  const addr = server.address()
  port = typeof addr === 'object' && addr !== null ? addr.port : port
  server.on('error', (err) => log('http server error', err))

  let closed: Promise<void> | null = null
  return {
    url: displayUrl(host, port, secure),
    port,
    secure,
    portNote,
    host,
    token,
    tokenGenerated: generated,
    clientCount: () => hub.clientCount,
    close(): Promise<void> {
      closed ??= (async () => {
        await hub.close()
        await new Promise<void>((done) => {
          server.close(() => done())
          server.closeAllConnections()
        })
      })()
      return closed
    }
  }
}
