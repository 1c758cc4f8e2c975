// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type WsClientMessage } from '../../src/shared/api'
import {
  createWsClient,
  defaultWsUrl,
  type ConnectionState,
  type WebSocketLike,
  type WsClientOptions
} from '../../src/renderer/src/api/ws-client'

/** A socket the test plays the server for. */
class FakeSocket implements WebSocketLike {
  sent: WsClientMessage[] = []
  closed = false
  onopen: (() => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: (() => void) | null = null
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as WsClientMessage)
  }
  close(code = 1000, reason = ''): void {
    if (this.closed) return
    this.closed = true
    this.onclose?.({ code, reason })
  }
  // server side
  open(): void {
    this.onopen?.()
  }
  hello(needsToken = false): void {
    this.server({ kind: 'hello', version: '0.1.0', needsToken })
  }
  server(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) })
  }
  drop(code = 1006): void {
    this.closed = true
    this.onclose?.({ code, reason: '' })
  }
  invokes(): Extract<WsClientMessage, { kind: 'invoke' }>[] {
    return this.sent.filter((m): m is Extract<WsClientMessage, { kind: 'invoke' }> => m.kind === 'invoke')
  }
  answer(id: number, value: unknown): void {
    this.server({ kind: 'result', id, envelope: { ok: true, value } })
  }
  fail(id: number, code: string, message: string, details?: unknown): void {
    this.server({ kind: 'result', id, envelope: { ok: false, error: { code, message, details } } })
  }
}

let sockets: FakeSocket[]
const last = (): FakeSocket => sockets[sockets.length - 1] as FakeSocket

function client(over: Partial<WsClientOptions> = {}) {
  return createWsClient({
    url: 'ws://127.0.0.1:1234/api',
    createSocket: (u) => {
      const s = new FakeSocket(u)
      sockets.push(s)
      return s
    },
    askToken: () => Promise.reject(new Error('no token expected')),
    backoff: { random: () => 0.5 },
    ...over
  })
}

beforeEach(() => {
  sockets = []
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('ws-client', () => {
  it('derives ws/wss from the page', () => {
    expect(defaultWsUrl({ protocol: 'http:', host: '127.0.0.1:5000' })).toBe('ws://127.0.0.1:5000/api')
    expect(defaultWsUrl({ protocol: 'https:', host: 'vigil.lan' })).toBe('wss://vigil.lan/api')
  })

  it('queues calls until hello, then invokes and unwraps the envelope', async () => {
    const c = client()
    const p = c.api.peopleList()
    expect(last().sent).toEqual([])
    last().open()
    last().hello()
    expect(c.state().status).toBe('open')
    const inv = last().invokes()[0]
    expect(inv).toMatchObject({ kind: 'invoke', channel: 'people.list', payload: null })
    last().answer(inv?.id ?? -1, [{ id: 'p1' }])
    await expect(p).resolves.toEqual([{ id: 'p1' }])
  })

  it('turns ok:false into an ApiError with code, message and details', async () => {
    const c = client()
    last().open()
    last().hello()
    const p = c.api.reviewDecide({ itemId: 'r1', version: 1, action: 'confirm', operator: 'Ana' })
    const inv = last().invokes()[0]
    expect(inv?.payload).toEqual({ itemId: 'r1', version: 1, action: 'confirm', operator: 'Ana' })
    last().fail(inv?.id ?? -1, 'conflict', 'already decided by Bo', { decidedBy: 'Bo' })
    const err = await p.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'conflict', message: 'already decided by Bo', details: { decidedBy: 'Bo' } })
  })

  it('a garbled error body still rejects, as internal', async () => {
    const c = client()
    last().open()
    last().hello()
    const p = c.api.systemInfo()
    last().server({ kind: 'result', id: last().invokes()[0]?.id, envelope: { ok: false, error: 'nope' } })
    await expect(p).rejects.toMatchObject({ code: 'internal' })
  })

  it('ignores malformed frames and unknown ids without breaking', async () => {
    const c = client()
    last().open()
    last().hello()
    last().onmessage?.({ data: 'not json' })
    last().server({ kind: 'result', id: 999, envelope: { ok: true, value: 1 } })
    last().server({ kind: 'weird' })
    const p = c.api.systemInfo()
    last().answer(last().invokes()[0]?.id ?? -1, { version: 'x' })
    await expect(p).resolves.toEqual({ version: 'x' })
  })

  it('delivers pushes to subscribers until they unsubscribe', () => {
    const c = client()
    last().open()
    last().hello()
    const got: number[] = []
    const off = c.api.on('review.changed', (p) => got.push(p.pending))
    last().server({ kind: 'push', channel: 'review.changed', payload: { pending: 3 } })
    off()
    last().server({ kind: 'push', channel: 'review.changed', payload: { pending: 4 } })
    expect(got).toEqual([3])
  })

  it('with needsToken: asks, authenticates, probes, then sends queued calls', async () => {
    const asked: string[] = []
    const accepted: string[] = []
    const c = client({
      askToken: async (reason) => {
        asked.push(reason)
        return asked.length === 1 ? 'wrong' : 'right'
      },
      onTokenAccepted: (t) => accepted.push(t)
    })
    const p = c.api.camerasList()
    last().open()
    last().hello(true)
    await vi.waitFor(() => expect(last().sent.some((m) => m.kind === 'auth')).toBe(true))
    expect(last().sent[0]).toEqual({ kind: 'auth', token: 'wrong' })
    const probe1 = last().invokes()[0]
    expect(probe1?.channel).toBe('system.info')
    last().fail(probe1?.id ?? -1, 'unauthorized', 'bad token')
    await vi.waitFor(() => expect(last().sent.filter((m) => m.kind === 'auth')).toHaveLength(2))
    expect(asked).toEqual(['required', 'rejected'])
    const probe2 = last().invokes()[1]
    last().answer(probe2?.id ?? -1, {})
    await vi.waitFor(() => expect(c.state().status).toBe('open'))
    expect(accepted).toEqual(['right'])
    const call = last().invokes()[2]
    expect(call?.channel).toBe('cameras.list')
    last().answer(call?.id ?? -1, [])
    await expect(p).resolves.toEqual([])
  })

  it('uses a token given up front without asking', async () => {
    const c = client({ token: 'from-url' })
    last().open()
    last().hello(true)
    expect(last().sent[0]).toEqual({ kind: 'auth', token: 'from-url' })
    last().answer(last().invokes()[0]?.id ?? -1, {})
    await vi.waitFor(() => expect(c.state().status).toBe('open'))
  })

  it('on a lost connection: fails calls in flight, reconnects with backoff, re-authenticates, and tells listeners', async () => {
    const states: ConnectionState['status'][] = []
    const c = client({ token: 't' })
    c.onState((s) => states.push(s.status))
    let ready = 0
    c.onReady(() => ready++)
    last().open()
    last().hello(true)
    last().answer(last().invokes()[0]?.id ?? -1, {})
    await vi.waitFor(() => expect(ready).toBe(1))

    const inFlight = c.api.systemInfo()
    last().drop()
    await expect(inFlight).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('lost') })
    expect(c.state()).toMatchObject({ status: 'closed', attempt: 1, lastError: 'server unreachable' })
    expect(sockets).toHaveLength(1)

    await vi.advanceTimersByTimeAsync(499)
    expect(sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sockets).toHaveLength(2)
    // The second attempt fails too: the wait doubles.
    last().drop()
    await vi.advanceTimersByTimeAsync(999)
    expect(sockets).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(sockets).toHaveLength(3)

    last().open()
    last().hello(true)
    expect(last().sent[0]).toEqual({ kind: 'auth', token: 't' })
    last().answer(last().invokes()[0]?.id ?? -1, {})
    await vi.waitFor(() => expect(ready).toBe(2))
    expect(c.state().attempt).toBe(0)
    expect(states).toContain('closed')
  })

  it('retryNow skips the wait; a call made while down waits for the connection, or times out clearly', async () => {
    const c = client({ queueTimeoutMs: 5000 })
    last().open()
    last().hello()
    last().drop()
    const waiting = c.api.peopleList()
    c.retryNow()
    expect(sockets).toHaveLength(2)
    last().open()
    last().hello()
    last().answer(last().invokes()[0]?.id ?? -1, [])
    await expect(waiting).resolves.toEqual([])

    last().drop()
    const late = c.api.peopleList()
    const settled = late.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(5000)
    expect(await settled).toMatchObject({ code: 'internal', message: expect.stringContaining('Not connected') })
  })

  it('a server that never says hello is used anyway after a while', async () => {
    const c = client({ helloTimeoutMs: 1000 })
    const p = c.api.systemInfo()
    last().open()
    await vi.advanceTimersByTimeAsync(1000)
    expect(c.state().status).toBe('open')
    last().answer(last().invokes()[0]?.id ?? -1, { ok: 1 })
    await expect(p).resolves.toEqual({ ok: 1 })
  })

  it('close() stops reconnecting and rejects what is pending', async () => {
    const c = client()
    const p = c.api.systemInfo()
    c.close()
    await expect(p).rejects.toMatchObject({ code: 'internal' })
    await vi.advanceTimersByTimeAsync(60_000)
    expect(sockets).toHaveLength(1)
    await expect(c.api.systemInfo()).rejects.toBeInstanceOf(ApiError)
  })

  it('has one function per API operation plus on and transport', () => {
    const c = client()
    expect(typeof c.api.peopleAddPhoto).toBe('function')
    expect(typeof c.api.eventsExportCsv).toBe('function')
    expect(c.api.transport).toBe('websocket')
  })
})
