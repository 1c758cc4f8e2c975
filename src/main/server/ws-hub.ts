// The /api WebSocket of browser mode: invoke → dispatch → result, pushes fanned out to every
// authenticated client. Every byte here comes from a browser tab, so nothing a client sends may
// close other clients' sockets, crash the process, or make the server queue without bound.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import type { ApiErrorCode, Envelope, PushChannel, WsServerMessage } from '../../shared/api'
import { encodePreviewFrame, encodeVideoFrame } from '../../shared/preview-wire'
import type { PreviewFrame, VideoFrame } from '../../shared/types'
import { dispatch, dispatchLogger, errorEnvelope, type DispatchLogger } from '../api/dispatch'
import { silentLogger } from '../log/logger'
import type { VigilBackend } from '../contracts'

export interface HubTuning {
  /** buffered bytes above which previews and overlays are coalesced (newest per camera wins) */
  highWater: number
  /** coalesced frames are flushed once the buffer drains below this */
  lowWater: number
  /** a client this far behind is disconnected: it could otherwise hold unbounded memory */
  hardLimit: number
  /** messages above this get a too_large answer; the connection stays up */
  maxMessageBytes: number
  /** frames above this cannot even be read: ws closes the socket with 1009 */
  maxFrameBytes: number
  /** concurrent invocations per client before answering busy */
  maxInFlight: number
  /** failed auth attempts before the socket is closed */
  maxAuthFailures: number
  heartbeatMs: number
  /** WebSocket connections at once, authenticated or not; more are refused at the upgrade */
  maxConnections: number
  /** before authentication a message above this is not even parsed: the socket is closed */
  maxUnauthedBytes: number
  /** a socket that has not authenticated within this is closed */
  authDeadlineMs: number
  /** failed token attempts from one IP (over any number of sockets) before it must wait */
  ipFreeFailures: number
  /** first wait after those, doubling per further failure up to ipMaxBackoffMs */
  ipBackoffMs: number
  ipMaxBackoffMs: number
}

export const DEFAULT_TUNING: HubTuning = {
  highWater: 1 << 20,
  lowWater: 256 << 10,
  hardLimit: 64 << 20,
  // people.addPhoto carries up to 40 MB of base64 (schemas.ts) plus the JSON around it.
  maxMessageBytes: 45 << 20,
  maxFrameBytes: 64 << 20,
  maxInFlight: 64,
  maxAuthFailures: 5,
  heartbeatMs: 30_000,
  maxConnections: 32,
  maxUnauthedBytes: 4096,
  authDeadlineMs: 10_000,
  ipFreeFailures: 5,
  ipBackoffMs: 1000,
  ipMaxBackoffMs: 60_000
}

/**
 * Failed token attempts per remote address. Counting per socket let a guesser reconnect after
 * every 5 tries (200 guesses in 146 ms); counted per IP, each failure past the free ones doubles
 * the wait, during which that address cannot even try.
 */
export class AuthBackoff {
  private readonly byIp = new Map<string, { failures: number; until: number }>()

  constructor(private readonly t: Pick<HubTuning, 'ipFreeFailures' | 'ipBackoffMs' | 'ipMaxBackoffMs'>) {}

  /** ms this address must still wait before a token is even compared (0 = may try) */
  waitMs(ip: string, now = Date.now()): number {
    const e = this.byIp.get(ip)
    return e ? Math.max(0, e.until - now) : 0
  }

  fail(ip: string, now = Date.now()): void {
    const e = this.byIp.get(ip) ?? { failures: 0, until: 0 }
    e.failures++
    const over = e.failures - this.t.ipFreeFailures
    if (over > 0) e.until = now + Math.min(this.t.ipMaxBackoffMs, this.t.ipBackoffMs * 2 ** Math.min(over - 1, 30))
    this.byIp.set(ip, e)
    // an address space sweep must not grow this without bound: forget the oldest entries
    if (this.byIp.size > 10_000) {
      const first = this.byIp.keys().next().value
      if (first !== undefined) this.byIp.delete(first)
    }
  }

  succeed(ip: string): void {
    this.byIp.delete(ip)
  }
}

/** Frames whose id cannot be read are answered with this id. */
export const UNKNOWN_ID = -1

/** Push channels that describe "the current picture": only the latest one per camera matters. */
const COALESCED: ReadonlySet<PushChannel> = new Set<PushChannel>(['camera.preview', 'camera.overlay'])

interface Client {
  ws: WebSocket
  ip: string
  authed: boolean
  authTimer: NodeJS.Timeout | null
  authFailures: number
  inFlight: number
  alive: boolean
  /** coalesced pushes waiting for the buffer to drain, by channel + camera */
  pending: Map<string, string | Uint8Array>
  /** cameras whose previews and overlays this client shows; null = all (until it says otherwise) */
  watch: Set<string> | null
}

/** cameras one client may watch at once (a 16-tile page is the most the console shows) */
const MAX_WATCH = 256

export interface HubOptions {
  backend: VigilBackend
  version: string
  token: string | undefined
  tuning?: Partial<HubTuning>
  log?: DispatchLogger
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0)
  return data instanceof ArrayBuffer ? data.byteLength : data.length
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8')
}

/**
 * Sets the frame size ws accepts on one socket. ws only has a per-server maxPayload, but its
 * receiver checks the limit in the frame header, before the payload is buffered: lowering it on
 * an unauthenticated socket makes a 40 MiB frame cost a header, not 40 MiB of reading. Relies on
 * ws 8 internals; when they change this returns false and the message-level check (after the
 * frame is read, still before any parsing) is what remains.
 */
export function setFrameLimit(ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } | null })._receiver
  if (!receiver || typeof receiver._maxPayload !== 'number') return false
  receiver._maxPayload = bytes
  return true
}

/** Best effort so a client's pending call fails fast instead of timing out on a garbled frame. */
export function recoverId(text: string): number {
  const m = /"id"\s*:\s*(\d{1,15})\b/.exec(text.slice(0, 300))
  return m ? Number(m[1]) : UNKNOWN_ID
}

export class WsHub {
  private readonly wss: WebSocketServer
  private readonly clients = new Set<Client>()
  private readonly tuning: HubTuning
  private readonly log: DispatchLogger
  private readonly tokenDigest: Buffer | null
  private readonly unsubscribe: () => void
  private flushTimer: NodeJS.Timeout | null = null
  private readonly heartbeat: NodeJS.Timeout
  private readonly backoff: AuthBackoff
  /** upgrades accepted but not yet attached count against maxConnections too */
  private pendingUpgrades = 0

  constructor(private readonly opts: HubOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning }
    this.log = opts.log ?? dispatchLogger(silentLogger)
    this.tokenDigest = opts.token ? digest(opts.token) : null
    this.backoff = new AuthBackoff(this.tuning)
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.tuning.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false
    })
    this.unsubscribe = opts.backend.onPush((channel, payload) => this.fanOut(channel, payload))
    this.heartbeat = setInterval(() => this.beat(), this.tuning.heartbeatMs)
    this.heartbeat.unref()
  }

  get clientCount(): number {
    return this.clients.size
  }

  /**
   * Why this upgrade must be refused before any WebSocket exists (HTTP status and text), or null.
   * Checked by the server before handleUpgrade.
   */
  refusal(ip: string): { status: number; reason: string } | null {
    if (this.clients.size + this.pendingUpgrades >= this.tuning.maxConnections)
      return { status: 503, reason: `too many connections (at most ${this.tuning.maxConnections})` }
    const wait = this.tokenDigest === null ? 0 : this.backoff.waitMs(ip)
    if (wait > 0)
      return {
        status: 429,
        reason: `too many failed access tokens from this address; retry in ${Math.ceil(wait / 1000)} s`
      }
    return null
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ip = req.socket.remoteAddress ?? 'unknown'
    this.pendingUpgrades++
    let counted = true
    const uncount = (): void => {
      if (counted) this.pendingUpgrades--
      counted = false
    }
    socket.once('close', uncount)
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      uncount()
      this.attach(ws, ip)
    })
  }

  private attach(ws: WebSocket, ip: string): void {
    const c: Client = {
      ws,
      ip,
      authTimer: null,
      authed: this.tokenDigest === null,
      authFailures: 0,
      inFlight: 0,
      alive: true,
      pending: new Map(),
      watch: null
    }
    this.clients.add(c)
    if (!c.authed) {
      setFrameLimit(ws, this.tuning.maxUnauthedBytes)
      // idle unauthenticated sockets cost a slot each: they get a deadline, not a heartbeat's mercy
      c.authTimer = setTimeout(() => {
        if (!c.authed) ws.close(1008, 'authentication timeout')
      }, this.tuning.authDeadlineMs)
      c.authTimer.unref()
    }
    ws.on('pong', () => {
      c.alive = true
    })
    ws.on('message', (data) => {
      c.alive = true
      this.onMessage(c, data)
    })
    ws.on('error', (err) => {
      // Oversized frames and protocol errors land here; ws closes that socket only.
      this.log('websocket client error', err)
    })
    ws.on('close', () => {
      if (c.authTimer) clearTimeout(c.authTimer)
      this.clients.delete(c)
      c.pending.clear()
    })
    this.sendHello(c)
  }

  private sendHello(c: Client): void {
    this.send(
      c,
      JSON.stringify({ kind: 'hello', version: this.opts.version, needsToken: !c.authed } satisfies WsServerMessage)
    )
  }

  private answer(c: Client, id: number, envelope: Envelope<unknown>): void {
    let text: string
    try {
      text = JSON.stringify({ kind: 'result', id, envelope } satisfies WsServerMessage)
    } catch (err) {
      this.log('result could not be serialised', err)
      text = JSON.stringify({
        kind: 'result',
        id,
        envelope: errorEnvelope('internal', 'result could not be serialised')
      } satisfies WsServerMessage)
    }
    this.send(c, text)
  }

  private fail(c: Client, id: number, code: ApiErrorCode, message: string): void {
    this.answer(c, id, errorEnvelope(code, message))
  }

  private onMessage(c: Client, data: RawData): void {
    const size = rawSize(data)
    if (!c.authed && size > this.tuning.maxUnauthedBytes) {
      // not decoded, not parsed: before authentication only a small auth frame is legitimate
      c.ws.close(1009, `messages before authentication are limited to ${this.tuning.maxUnauthedBytes} bytes`)
      return
    }
    const text = rawText(data)
    if (size > this.tuning.maxMessageBytes) {
      this.fail(
        c,
        recoverId(text),
        'too_large',
        `message of ${size} bytes exceeds the ${this.tuning.maxMessageBytes}-byte limit`
      )
      return
    }
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch {
      this.fail(c, recoverId(text), 'invalid_request', 'malformed JSON')
      return
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.fail(c, UNKNOWN_ID, 'invalid_request', 'message must be a JSON object')
      return
    }
    const m = msg as Record<string, unknown>
    if (m.kind === 'auth') {
      this.onAuth(c, m.token)
      return
    }
    if (m.kind === 'watch') {
      this.onWatch(c, m.cameraIds)
      return
    }
    const id = typeof m.id === 'number' && Number.isSafeInteger(m.id) ? m.id : null
    if (m.kind !== 'invoke') {
      this.fail(
        c,
        id ?? UNKNOWN_ID,
        'invalid_request',
        `unknown message kind ${JSON.stringify(m.kind)?.slice(0, 50) ?? 'undefined'}`
      )
      return
    }
    if (id === null) {
      this.fail(c, UNKNOWN_ID, 'invalid_request', 'invoke needs an integer id')
      return
    }
    if (!c.authed) {
      this.fail(c, id, 'unauthorized', 'this server needs an access token: send {kind:"auth", token} first')
      return
    }
    if (c.inFlight >= this.tuning.maxInFlight) {
      this.fail(c, id, 'busy', `more than ${this.tuning.maxInFlight} requests in flight`)
      return
    }
    c.inFlight++
    void dispatch(this.opts.backend, m.channel, m.payload, this.log).then((envelope) => {
      c.inFlight--
      this.answer(c, id, envelope)
    })
  }

  /**
   * The protocol has no auth answer (the console probes with an invoke: 'unauthorized' means the
   * token was wrong), so success and failure are silent here; repeated failures close the socket.
   */
  private onAuth(c: Client, token: unknown): void {
    if (this.tokenDigest === null || c.authed) return
    const wait = this.backoff.waitMs(c.ip)
    if (wait > 0) {
      // not even compared: the address is waiting out its backoff
      c.ws.close(1008, `too many failed access tokens from this address; retry in ${Math.ceil(wait / 1000)} s`)
      return
    }
    if (typeof token === 'string' && token.length <= 1000 && timingSafeEqual(digest(token), this.tokenDigest)) {
      c.authed = true
      c.authFailures = 0
      setFrameLimit(c.ws, this.tuning.maxFrameBytes)
      if (c.authTimer) clearTimeout(c.authTimer)
      c.authTimer = null
      this.backoff.succeed(c.ip)
      return
    }
    c.authFailures++
    this.backoff.fail(c.ip)
    if (c.authFailures >= this.tuning.maxAuthFailures || this.backoff.waitMs(c.ip) > 0)
      c.ws.close(1008, 'too many failed authentication attempts')
  }

  /** The tiles a client shows: only their previews and overlays are sent to it. */
  private onWatch(c: Client, ids: unknown): void {
    if (!c.authed) return
    if (ids === null) {
      c.watch = null
      return
    }
    if (!Array.isArray(ids) || ids.length > MAX_WATCH || ids.some((x) => typeof x !== 'string' || x.length > 200)) {
      this.fail(c, UNKNOWN_ID, 'invalid_request', `watch takes null or up to ${MAX_WATCH} camera ids`)
      return
    }
    c.watch = new Set(ids as string[])
    // a tile that left the screen must not receive a preview still waiting in the coalescing queue
    for (const key of [...c.pending.keys()]) {
      const cam = key.slice(key.indexOf(':') + 1)
      if (!c.watch.has(cam)) c.pending.delete(key)
    }
  }

  /** Sends unless the client is hopelessly behind, in which case it is dropped to cap memory. */
  private send(c: Client, text: string | Uint8Array): void {
    if (c.ws.readyState !== WebSocket.OPEN) return
    if (c.ws.bufferedAmount > this.tuning.hardLimit) {
      this.log('dropping a client that stopped reading', new Error(`${c.ws.bufferedAmount} bytes buffered`))
      c.ws.terminate()
      return
    }
    c.ws.send(text)
  }

  /**
   * Live video goes only to pages that show that one camera enlarged (their watch is just it), and
   * never waits: a page that cannot keep up skips fragments (MSE resyncs at the next keyframe).
   */
  private fanOutVideo(v: VideoFrame): void {
    let bytes: Uint8Array | null = null
    for (const c of this.clients) {
      if (!c.authed || c.ws.readyState !== WebSocket.OPEN) continue
      if (!c.watch || c.watch.size !== 1 || !c.watch.has(v.cameraId)) continue
      if (c.ws.bufferedAmount > this.tuning.highWater) continue
      bytes ??= encodeVideoFrame(v)
      this.send(c, bytes)
    }
  }

  private fanOut(channel: PushChannel, payload: unknown): void {
    if (channel === 'camera.video') {
      this.fanOutVideo(payload as VideoFrame)
      return
    }
    let text: string | Uint8Array | null = null
    const key = COALESCED.has(channel) ? coalesceKey(channel, payload) : null
    const cam = key === null ? null : key.slice(key.indexOf(':') + 1)
    for (const c of this.clients) {
      if (!c.authed || c.ws.readyState !== WebSocket.OPEN) continue
      if (cam !== null && c.watch && !c.watch.has(cam)) continue
      if (text === null) {
        try {
          text =
            channel === 'camera.preview'
              ? encodePreviewFrame(payload as PreviewFrame)
              : JSON.stringify({ kind: 'push', channel, payload } satisfies WsServerMessage)
        } catch (err) {
          this.log(`push ${channel} could not be serialised`, err)
          return
        }
      }
      if (key !== null && (c.ws.bufferedAmount > this.tuning.highWater || c.pending.size > 0)) {
        // Newest wins: an old preview is worthless once a newer one exists.
        c.pending.delete(key)
        c.pending.set(key, text)
        this.scheduleFlush()
        continue
      }
      this.send(c, text)
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return
    this.flushTimer = setInterval(() => {
      let waiting = false
      for (const c of this.clients) {
        if (c.pending.size === 0) continue
        if (c.ws.bufferedAmount <= this.tuning.lowWater) {
          const batch = [...c.pending.values()]
          c.pending.clear()
          for (const t of batch) this.send(c, t)
        } else {
          waiting = true
        }
      }
      if (!waiting && this.flushTimer) {
        clearInterval(this.flushTimer)
        this.flushTimer = null
      }
    }, 25)
    this.flushTimer.unref()
  }

  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate()
        continue
      }
      c.alive = false
      try {
        c.ws.ping()
      } catch {
        c.ws.terminate()
      }
    }
  }

  async close(): Promise<void> {
    this.unsubscribe()
    clearInterval(this.heartbeat)
    if (this.flushTimer) clearInterval(this.flushTimer)
    const closing = [...this.clients].map(
      (c) =>
        new Promise<void>((done) => {
          if (c.ws.readyState === WebSocket.CLOSED) return done()
          const t = setTimeout(() => {
            c.ws.terminate()
            done()
          }, 1000)
          c.ws.once('close', () => {
            clearTimeout(t)
            done()
          })
          c.ws.close(1001, 'server shutting down')
        })
    )
    await Promise.all(closing)
    await new Promise<void>((done) => this.wss.close(() => done()))
  }
}

function coalesceKey(channel: PushChannel, payload: unknown): string {
  const cam = typeof payload === 'object' && payload !== null ? (payload as { cameraId?: unknown }).cameraId : undefined
  return `${channel}:${typeof cam === 'string' ? cam : ''}`
}
