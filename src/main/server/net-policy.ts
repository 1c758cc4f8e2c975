// Who may talk to the browser-mode server. Pure functions so the rules are tested without binding
// to real external interfaces.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'

/** Hostnames that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  // 127.0.0.0/8 is all loopback; an IPv4-mapped form of it too.
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIP(v4) === 4 && v4.startsWith('127.')
}

export const MIN_TOKEN_LENGTH = 16

export interface TokenDecision {
  token: string | undefined
  /** true when the server made one up because the bind address demanded it */
  generated: boolean
}

/**
 * Loopback binds may run open (other local users are the residual risk, mitigated by the Origin
 * and Host checks); any other bind exposes camera feeds and the gallery to the network, so it
 * always needs a token, generated when none was given.
 */
export function resolveToken(
  host: string,
  token: string | undefined,
  generate: () => string = () => randomBytes(24).toString('base64url')
): TokenDecision {
  const given = token?.trim() ? token.trim() : undefined
  if (given !== undefined) {
    if (!isLoopbackHost(host) && given.length < MIN_TOKEN_LENGTH) {
      throw new Error(
        `--token must be at least ${MIN_TOKEN_LENGTH} characters when binding to ${host} (not a loopback address)`
      )
    }
    return { token: given, generated: false }
  }
  if (isLoopbackHost(host)) return { token: undefined, generated: false }
  return { token: generate(), generated: true }
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: string }

function parseHostHeader(hostHeader: string): URL | null {
  if (!hostHeader || /[\s/@?#\\]/.test(hostHeader)) return null
  try {
    return new URL(`http://${hostHeader}`)
  } catch {
    return null
  }
}

/**
 * The Host header must name this server. On a loopback bind it must be a loopback name: a
 * DNS-rebinding page (evil.example resolving to 127.0.0.1) then sends Host: evil.example and is
 * refused even though its Origin and Host agree with each other.
 */
export function checkHost(hostHeader: string | undefined, bindHost: string, port: number, secure = false): Verdict {
  const u = parseHostHeader(hostHeader ?? '')
  if (!u) return { ok: false, status: 400, reason: 'missing or malformed Host header' }
  const p = u.port === '' ? (secure ? 443 : 80) : Number(u.port)
  if (p !== port) return { ok: false, status: 403, reason: `Host header names port ${p}, server is on ${port}` }
  if (isLoopbackHost(bindHost) && !isLoopbackHost(u.hostname)) {
    return { ok: false, status: 403, reason: `Host ${u.hostname} is not allowed on a loopback server` }
  }
  return { ok: true }
}

/**
 * Browsers always send Origin on a WebSocket handshake; it must be the page this server served.
 * A missing Origin means a non-browser client (a script on this machine), which the Host check
 * and, off loopback, the token already govern.
 */
export function checkOrigin(origin: string | undefined, hostHeader: string | undefined, secure = false): Verdict {
  if (origin === undefined) return { ok: true }
  const host = parseHostHeader(hostHeader ?? '')
  if (!host) return { ok: false, status: 400, reason: 'missing or malformed Host header' }
  let o: URL
  try {
    o = new URL(origin)
  } catch {
    return { ok: false, status: 403, reason: `Origin ${JSON.stringify(origin).slice(0, 200)} is not allowed` }
  }
  // over TLS the page is https: and so is its origin; an http: page must not drive a TLS server
  const expected = secure ? host.origin.replace(/^http:/, 'https:').replace(/:443$/, '') : host.origin
  if (o.protocol !== (secure ? 'https:' : 'http:') || o.origin !== expected) {
    return { ok: false, status: 403, reason: `Origin ${o.origin} does not match ${expected}` }
  }
  return { ok: true }
}

/** URL to print for a bind address: wildcard binds are reached through loopback locally. */
export function displayUrl(host: string, port: number, secure = false): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host
  const bracketed = isIP(h) === 6 ? `[${h}]` : h
  return `${secure ? 'https' : 'http'}://${bracketed}:${port}/`
}

/** Browser mode's port when none is given: stable, so bookmarks and a second station keep working. */
export const DEFAULT_PORT = 8471
/** How many ports after DEFAULT_PORT are tried when it is taken. */
export const PORT_TRIES = 20

export type Transport = { tls: true } | { tls: false; warning: string | null }

/**
 * Off loopback the token and every face image would cross the network in clear: TLS unless the
 * operator explicitly chose --insecure. On loopback plain HTTP, unless TLS was asked for.
 */
export function chooseTransport(host: string, flags: { insecure?: boolean; tls?: boolean }): Transport {
  if (flags.tls) return { tls: true }
  if (isLoopbackHost(host)) return { tls: false, warning: null }
  if (flags.insecure)
    return {
      tls: false,
      warning: `--insecure: serving plain HTTP on ${host}; the access token and every camera image cross the network unencrypted`
    }
  return { tls: true }
}
