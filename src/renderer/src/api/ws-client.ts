// Browser-mode transport: implements VigilApi over one WebSocket to the engine's /api endpoint.
// Framework-free on purpose (no Vue): the console wires its state into reactive UI in api/index.ts,
// and the unit tests drive it with a fake socket.
import {
  ApiError,
  buildApiMethods,
  type Channel,
  type Envelope,
  type PushChannel,
  type PushSpec,
  type VigilApi,
  type WsClientMessage,
  type WsServerMessage
} from '@shared/api'
import { decodePreviewFrame, decodeVideoFrame } from '@shared/preview-wire'
import { backoffDelay, type BackoffOptions } from '../lib/backoff'
import { isApiErrorCode } from '../lib/errors'

/** The subset of the DOM WebSocket the client needs; tests pass a fake. */
export interface WebSocketLike {
  /** binary frames (previews) arrive as ArrayBuffer */
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: (() => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: (() => void) | null
}

export type ConnectionStatus = 'connecting' | 'authenticating' | 'open' | 'closed'

export interface ConnectionState {
  status: ConnectionStatus
  /** consecutive failed connection attempts; 0 once connected */
  attempt: number
  /** epoch ms of the next reconnect attempt while closed */
  retryAt: number | null
  /** why the last connection ended, in words */
  lastError: string | null
  /** the server asked for a token on this connection */
  needsToken: boolean
  serverVersion: string | null
}

export type TokenReason = 'required' | 'rejected'

export interface WsClientOptions {
  url: string
  createSocket?: (url: string) => WebSocketLike
  /** known up front, e.g. from ?token= in the page URL */
  token?: string | null
  /** asks the operator; may stay pending until they answer */
  askToken: (reason: TokenReason) => Promise<string>
  /** the server accepted this token: the caller may remember it for reloads */
  onTokenAccepted?: (token: string) => void
  backoff?: BackoffOptions
  /** how long a call made while disconnected waits for the connection, ms */
  queueTimeoutMs?: number
  /** a server that never says hello is treated as not needing a token after this, ms */
  helloTimeoutMs?: number
}

export interface WsClient {
  api: VigilApi
  state(): ConnectionState
  onState(listener: (s: ConnectionState) => void): () => void
  /** called every time the connection becomes usable (first connect and each reconnect) */
  onReady(listener: () => void): () => void
  /** skip the backoff wait */
  retryNow(): void
  /** previews and overlays only for these cameras (null = all); kept across reconnects */
  watch(cameraIds: string[] | null): void
  close(): void
}

export function browserSocket(url: string): WebSocketLike {
  const ws = new WebSocket(url)
  const like: WebSocketLike = {
    send: (d) => ws.send(d),
    close: (code, reason) => ws.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null
  }
  ws.binaryType = 'arraybuffer'
  ws.onopen = () => like.onopen?.()
  ws.onmessage = (ev) => like.onmessage?.({ data: ev.data })
  ws.onclose = (ev) => like.onclose?.({ code: ev.code, reason: ev.reason })
  ws.onerror = () => like.onerror?.()
  return like
}

/** ws(s)://host/api for the page the console was served from. */
export function defaultWsUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api`
}

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: ApiError) => void
}

interface Queued extends Pending {
  channel: Channel
  payload: unknown
  timer: ReturnType<typeof setTimeout>
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function parseServerMessage(data: unknown): WsServerMessage | null {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    const p = decodePreviewFrame(bytes)
    if (p) return { kind: 'push', channel: 'camera.preview', payload: p }
    const v = decodeVideoFrame(bytes)
    return v ? { kind: 'push', channel: 'camera.video', payload: v } : null
  }
  if (typeof data !== 'string') return null
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return null
  }
  if (!isRecord(v)) return null
  if (v['kind'] === 'hello' && typeof v['needsToken'] === 'boolean') {
    return { kind: 'hello', version: typeof v['version'] === 'string' ? v['version'] : '', needsToken: v['needsToken'] }
  }
  if (v['kind'] === 'result' && typeof v['id'] === 'number' && isRecord(v['envelope'])) {
    return { kind: 'result', id: v['id'], envelope: v['envelope'] as Envelope<unknown> }
  }
  if (v['kind'] === 'push' && typeof v['channel'] === 'string') {
    return { kind: 'push', channel: v['channel'] as PushChannel, payload: v['payload'] }
  }
  return null
}

function unwrap(env: Envelope<unknown>): { ok: true; value: unknown } | { ok: false; error: ApiError } {
  if (env.ok === true) return { ok: true, value: env.value }
  // The envelope came off the wire: check its shape rather than trust the type.
  const raw: unknown = env.error
  const body: Record<string, unknown> = isRecord(raw) ? raw : {}
  const code = isApiErrorCode(body['code']) ? body['code'] : 'internal'
  const message = typeof body['message'] === 'string' ? body['message'] : 'The server reported an error.'
  return { ok: false, error: new ApiError(code, message, body['details']) }
}

export function createWsClient(opts: WsClientOptions): WsClient {
  const createSocket = opts.createSocket ?? browserSocket
  const queueTimeoutMs = opts.queueTimeoutMs ?? 20_000
  const helloTimeoutMs = opts.helloTimeoutMs ?? 4_000

  let state: ConnectionState = {
    status: 'connecting',
    attempt: 0,
    retryAt: null,
    lastError: null,
    needsToken: false,
    serverVersion: null
  }
  const stateListeners = new Set<(s: ConnectionState) => void>()
  const readyListeners = new Set<() => void>()
  const pushListeners = new Map<string, Set<(p: unknown) => void>>()
  const inflight = new Map<number, Pending>()
  const queue: Queued[] = []

  let token: string | null = opts.token ?? null
  let ws: WebSocketLike | null = null
  let generation = 0
  let ready = false
  /** the cameras whose previews this page shows; null = all */
  let watching: string[] | null = null
  let closedByUser = false
  let nextId = 1
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null
  let helloTimer: ReturnType<typeof setTimeout> | null = null

  const setState = (patch: Partial<ConnectionState>): void => {
    state = { ...state, ...patch }
    for (const l of stateListeners) l(state)
  }

  const isCurrent = (gen: number): boolean => gen === generation && ws !== null && !closedByUser

  const send = (msg: WsClientMessage): void => {
    if (!ws) throw new ApiError('internal', 'Not connected to the Vigil server.')
    ws.send(JSON.stringify(msg))
  }

  /** Sends now, bypassing readiness (used for the auth probe). */
  const rawInvoke = (channel: Channel, payload: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      inflight.set(id, { resolve, reject })
      try {
        send({ kind: 'invoke', id, channel, payload: payload === undefined ? null : payload })
      } catch (e) {
        inflight.delete(id)
        reject(e instanceof ApiError ? e : new ApiError('internal', 'Could not send the request to the Vigil server.'))
      }
    })

  const flushQueue = (): void => {
    while (ready && queue.length) {
      const q = queue.shift()
      if (!q) break
      clearTimeout(q.timer)
      rawInvoke(q.channel, q.payload).then(q.resolve, q.reject)
    }
  }

  const markReady = (): void => {
    ready = true
    if (watching !== null) sendWatch()
    if (helloTimer) clearTimeout(helloTimer)
    helloTimer = null
    setState({ status: 'open', attempt: 0, retryAt: null, lastError: null })
    flushQueue()
    for (const l of readyListeners) {
      try {
        l()
      } catch (e) {
        console.error('vigil: ready listener failed', e)
      }
    }
  }

  const authenticate = async (gen: number): Promise<void> => {
    setState({ status: 'authenticating', needsToken: true })
    let reason: TokenReason = 'required'
    for (;;) {
      if (!token) {
        const answer = await opts.askToken(reason)
        token = answer.trim() || null
        if (!isCurrent(gen)) return // the socket went away meanwhile; the next connection uses the token
        if (!token) continue
      }
      try {
        send({ kind: 'auth', token })
        // The protocol has no auth answer: a cheap call tells whether the token was taken.
        await rawInvoke('system.info', null)
      } catch (e) {
        if (!isCurrent(gen)) return
        if (e instanceof ApiError && e.code === 'unauthorized') {
          token = null
          reason = 'rejected'
          continue
        }
        // Anything else means we got past authentication.
      }
      if (!isCurrent(gen)) return
      if (token) opts.onTokenAccepted?.(token)
      markReady()
      return
    }
  }

  const scheduleReconnect = (why: string): void => {
    if (closedByUser) return
    const delay = backoffDelay(state.attempt, opts.backoff)
    setState({ status: 'closed', attempt: state.attempt + 1, retryAt: Date.now() + delay, lastError: why })
    if (reconnectTimer) clearTimeout(reconnectTimer)
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null
      connect()
    }, delay)
  }

  const onSocketClosed = (why: string): void => {
    ready = false
    ws = null
    if (helloTimer) clearTimeout(helloTimer)
    helloTimer = null
    const lost = new ApiError('internal', 'The connection to the Vigil server was lost before it answered; try again.')
    for (const p of inflight.values()) p.reject(lost)
    inflight.clear()
    scheduleReconnect(why)
  }

  const handleMessage = (gen: number, data: unknown): void => {
    const msg = parseServerMessage(data)
    if (!msg) return
    if (msg.kind === 'hello') {
      if (helloTimer) clearTimeout(helloTimer)
      helloTimer = null
      setState({ serverVersion: msg.version, needsToken: msg.needsToken })
      if (msg.needsToken) void authenticate(gen)
      else markReady()
      return
    }
    if (msg.kind === 'result') {
      const p = inflight.get(msg.id)
      if (!p) return
      inflight.delete(msg.id)
      const r = unwrap(msg.envelope)
      if (r.ok) p.resolve(r.value)
      else {
        p.reject(r.error)
        // A token that stopped working (server restarted with a new one): start over and ask again.
        if (r.error.code === 'unauthorized' && ready && state.needsToken) {
          token = null
          ws?.close(4001, 'unauthorized')
        }
      }
      return
    }
    const set = pushListeners.get(msg.channel)
    if (!set) return
    for (const l of [...set]) {
      try {
        l(msg.payload)
      } catch (e) {
        console.error(`vigil: push listener for ${msg.channel} failed`, e)
      }
    }
  }

  function connect(): void {
    if (closedByUser) return
    const gen = ++generation
    ready = false
    setState({ status: 'connecting', retryAt: null, needsToken: false })
    let sock: WebSocketLike
    try {
      sock = createSocket(opts.url)
    } catch (e) {
      ws = null
      scheduleReconnect(e instanceof Error ? e.message : 'could not open the connection')
      return
    }
    ws = sock
    sock.onopen = () => {
      if (gen !== generation) return
      helloTimer = setTimeout(() => {
        if (gen === generation && !ready && state.status === 'connecting') markReady()
      }, helloTimeoutMs)
    }
    sock.onmessage = (ev) => {
      if (gen === generation) handleMessage(gen, ev.data)
    }
    sock.onclose = (ev) => {
      if (gen !== generation || ws !== sock) return
      const why = ev.reason
        ? `closed: ${ev.reason}`
        : ev.code === 1006
          ? 'server unreachable'
          : `closed (code ${ev.code})`
      onSocketClosed(why)
    }
    sock.onerror = () => {
      // The close event that follows carries the outcome.
    }
  }

  const invoke = (channel: Channel, payload: unknown): Promise<unknown> => {
    if (closedByUser) return Promise.reject(new ApiError('internal', 'The connection was closed.'))
    if (ready && ws) return rawInvoke(channel, payload)
    return new Promise((resolve, reject) => {
      const q: Queued = {
        channel,
        payload,
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = queue.indexOf(q)
          if (i >= 0) queue.splice(i, 1)
          reject(
            new ApiError(
              'internal',
              `Not connected to the Vigil server (waited ${Math.round(queueTimeoutMs / 1000)} s).`
            )
          )
        }, queueTimeoutMs)
      }
      queue.push(q)
    })
  }

  const on: VigilApi['on'] = (channel, listener) => {
    let set = pushListeners.get(channel)
    if (!set) {
      set = new Set()
      pushListeners.set(channel, set)
    }
    const l = listener as (p: unknown) => void
    set.add(l)
    return () => {
      pushListeners.get(channel)?.delete(l)
    }
  }

  const sendWatch = (): void => {
    try {
      send({ kind: 'watch', cameraIds: watching })
    } catch {
      // not connected: markReady sends it again
    }
  }

  const api: VigilApi = { ...buildApiMethods(invoke), on, transport: 'websocket' }

  connect()

  return {
    api,
    state: () => state,
    onState(listener) {
      stateListeners.add(listener)
      return () => stateListeners.delete(listener)
    },
    onReady(listener) {
      readyListeners.add(listener)
      return () => readyListeners.delete(listener)
    },
    watch(cameraIds) {
      watching = cameraIds ? [...cameraIds] : null
      if (ready && ws) sendWatch()
    },
    retryNow() {
      if (state.status !== 'closed' || closedByUser) return
      if (reconnectTimer) clearTimeout(reconnectTimer)
      reconnectTimer = null
      connect()
    },
    close() {
      closedByUser = true
      if (reconnectTimer) clearTimeout(reconnectTimer)
      if (helloTimer) clearTimeout(helloTimer)
      const err = new ApiError('internal', 'The connection was closed.')
      for (const q of queue.splice(0)) {
        clearTimeout(q.timer)
        q.reject(err)
      }
      for (const p of inflight.values()) p.reject(err)
      inflight.clear()
      const s = ws
      ws = null
      ready = false
      s?.close(1000, 'client closed')
      setState({ status: 'closed', retryAt: null })
    }
  }
}

/** Typed helper for listeners registered through `on` (keeps PushSpec payload types at call sites). */
export type PushListener<P extends PushChannel> = (payload: PushSpec[P]) => void
