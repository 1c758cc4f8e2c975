import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CSP_BROWSER } from '../../src/main/api/csp'
import { startServer, type RunningServer } from '../../src/main/server/server'
import { fakeBackend, type FakeBackend } from './fake-backend'
import { connect, wsUrl, type TestClient } from './ws-client'

let tmp: string
let staticDir: string
const quiet = (): void => undefined

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vigil-shell-'))
  staticDir = join(tmp, 'renderer')
  mkdirSync(join(staticDir, 'assets'), { recursive: true })
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Vigil</title><div id="app"></div>')
  writeFileSync(join(staticDir, 'assets', 'index-abc123.js'), 'console.log(1)')
  writeFileSync(join(staticDir, 'assets', 'index-abc123.css'), 'body{}')
  writeFileSync(join(staticDir, '.env'), 'SECRET=1')
  writeFileSync(join(tmp, 'secret.txt'), 'do not serve me')
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const open: { servers: RunningServer[]; clients: TestClient[] } = { servers: [], clients: [] }
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close()))
  await Promise.all(open.servers.splice(0).map((s) => s.close()))
})

async function serve(
  backend: FakeBackend = fakeBackend(),
  extra: Partial<Parameters<typeof startServer>[0]> = {}
): Promise<RunningServer> {
  const s = await startServer({ backend, staticDir, port: 0, version: '9.9.9', log: quiet, ...extra })
  open.servers.push(s)
  return s
}

async function client(s: RunningServer, opts?: Parameters<typeof connect>[1]): Promise<TestClient> {
  const c = await connect(s.url, opts)
  open.clients.push(c)
  return c
}

interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Raw HTTP so the request path reaches the server exactly as written (no client normalisation). */
function get(
  s: RunningServer,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET'
): Promise<RawResponse> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', fail)
    req.end()
  })
}

describe('browser-mode server: static files', () => {
  it('binds to loopback on a free port and serves index.html with the CSP', async () => {
    const s = await serve()
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(s.token).toBeUndefined()
    const r = await get(s, '/')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(r.headers['content-security-policy']).toBe(CSP_BROWSER)
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    expect(r.headers['cache-control']).toBe('no-cache')
    expect(r.body).toContain('<title>Vigil</title>')
  })

  it('serves assets with their MIME type and long caching', async () => {
    const s = await serve()
    const js = await get(s, '/assets/index-abc123.js')
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.headers['cache-control']).toContain('immutable')
    expect((await get(s, '/assets/index-abc123.css')).headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('falls back to index.html for client routes but 404s missing assets', async () => {
    const s = await serve()
    const route = await get(s, '/review/item-3?x=1')
    expect(route.status).toBe(200)
    expect(route.body).toContain('<title>Vigil</title>')
    expect((await get(s, '/assets/missing.js')).status).toBe(404)
    // Browsers request it unasked: no console error for a console without one.
    expect((await get(s, '/favicon.ico')).status).toBe(204)
  })

  it.each([
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..\\secret.txt',
    '/%2e%2e%5csecret.txt',
    '/.env',
    '/x%00.html',
    '/%E0%A4%A'
  ])('refuses %s', async (path) => {
    const s = await serve()
    const r = await get(s, path)
    expect(r.body).not.toContain('do not serve me')
    expect(r.body).not.toContain('SECRET')
    expect([400, 403, 404]).toContain(r.status)
  })

  it('answers HEAD without a body and refuses other methods', async () => {
    const s = await serve()
    const head = await get(s, '/', {}, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect((await get(s, '/', {}, 'POST')).status).toBe(405)
  })

  it('refuses a foreign Host header on a loopback bind (DNS rebinding)', async () => {
    const s = await serve()
    const r = await get(s, '/', { Host: `evil.example:${s.port}` })
    expect(r.status).toBe(403)
    expect((await get(s, '/', { Host: `localhost:${s.port}` })).status).toBe(200)
  })

  it('says the console is not built when index.html is missing', async () => {
    const s = await serve(fakeBackend(), { staticDir: join(tmp, 'nothing-here') })
    const r = await get(s, '/')
    expect(r.status).toBe(503)
    expect(r.body).toMatch(/npm run build/)
  })

  it('explains a port that is taken', async () => {
    const s = await serve()
    await expect(startServer({ backend: fakeBackend(), staticDir, port: s.port, log: quiet })).rejects.toThrow(
      /already in use/
    )
  })
})

describe('browser-mode server: WebSocket API', () => {
  it('greets, then round-trips an invoke through dispatch', async () => {
    const b = fakeBackend({ 'people.create': async (req) => ({ id: 'p1', ...(req as object) }) })
    const s = await serve(b)
    const c = await client(s, { origin: s.url.replace(/\/$/, '') })
    expect(await c.next((m) => m.kind === 'hello')).toEqual({ kind: 'hello', version: '9.9.9', needsToken: false })
    const r = await c.invoke(1, 'people.create', { name: 'Grace' })
    expect(r.envelope).toEqual({ ok: true, value: { id: 'p1', name: 'Grace' } })
    const bad = await c.invoke(2, 'people.create', { name: 42 })
    expect(bad.envelope).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    const missing = await c.invoke(3, 'people.delete', { id: 'nobody' })
    expect(missing.envelope).toMatchObject({ ok: false, error: { code: 'not_found' } })
  })

  it('answers malformed frames with an error and keeps the socket open', async () => {
    const s = await serve()
    const c = await client(s)
    c.sendRaw('{"kind":"invoke","id":7,"channel":')
    expect((await c.next((m) => m.kind === 'result' && m.id === 7)).kind).toBe('result')
    c.sendRaw('not json at all')
    const r = await c.next((m) => m.kind === 'result' && m.id === -1)
    expect(r).toMatchObject({ envelope: { ok: false, error: { code: 'invalid_request', message: 'malformed JSON' } } })
    c.send([1, 2, 3])
    c.send({ kind: 'invoke', id: 'x', channel: 'people.list' })
    c.send({ kind: 'launch-missiles', id: 8 })
    await c.next((m) => m.kind === 'result' && m.id === 8)
    expect(c.ws.readyState).toBe(WebSocket.OPEN)
    expect((await c.invoke(9, 'people.list')).envelope).toEqual({ ok: true, value: [] })
  })

  it('answers an oversized message with too_large and stays connected', async () => {
    const s = await serve(fakeBackend(), { tuning: { maxMessageBytes: 1000 } })
    const c = await client(s)
    c.send({
      kind: 'invoke',
      id: 5,
      channel: 'people.addPhoto',
      payload: { personId: 'p', fileName: 'a.jpg', dataBase64: 'A'.repeat(5000) }
    })
    const r = await c.next((m) => m.kind === 'result' && m.id === 5)
    expect(r).toMatchObject({ envelope: { ok: false, error: { code: 'too_large' } } })
    expect((await c.invoke(6, 'people.list')).envelope.ok).toBe(true)
  })

  it('refuses a WebSocket from another origin and from a foreign Host', async () => {
    const s = await serve()
    await expect(connect(s.url, { origin: 'http://evil.example' })).rejects.toThrow(/403/)
    await expect(connect(s.url, { origin: `http://localhost:${s.port + 1}` })).rejects.toThrow(/403/)
    await expect(connect(s.url, { origin: 'null' })).rejects.toThrow(/403/)
    await expect(connect(s.url, { origin: 'http://evil.example', headers: { Host: 'evil.example' } })).rejects.toThrow(
      /403/
    )
    // The page this server served may connect.
    const ok = await client(s, { origin: `http://127.0.0.1:${s.port}` })
    expect(ok.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('only upgrades /api', async () => {
    const s = await serve()
    const ws = new WebSocket(wsUrl(s.url).replace('/api', '/other'))
    const status = await new Promise<number>((done) => {
      ws.on('unexpected-response', (_q, res) => done(res.statusCode ?? 0))
      ws.on('error', () => done(-1))
    })
    expect(status).toBe(404)
  })

  it('fans pushes out to every connected client', async () => {
    const b = fakeBackend()
    const s = await serve(b)
    const [c1, c2] = await Promise.all([client(s), client(s)])
    await Promise.all([c1.next((m) => m.kind === 'hello'), c2.next((m) => m.kind === 'hello')])
    b.emit('review.changed', { pending: 3 })
    for (const c of [c1, c2]) {
      expect(await c.next((m) => m.kind === 'push')).toEqual({
        kind: 'push',
        channel: 'review.changed',
        payload: { pending: 3 }
      })
    }
  })

  it('stops listening for pushes when closed', async () => {
    const b = fakeBackend()
    const s = await startServer({ backend: b, staticDir, port: 0, log: quiet })
    expect(b.listenerCount()).toBe(1)
    const c = await connect(s.url)
    const closed = new Promise<number>((done) => c.ws.once('close', (code) => done(code)))
    await s.close()
    expect(await closed).toBe(1001)
    expect(b.listenerCount()).toBe(0)
  })

  it('coalesces previews for a client that stops reading (newest wins, bounded)', async () => {
    const b = fakeBackend()
    const s = await serve(b, { tuning: { highWater: 64 << 10, lowWater: 16 << 10 } })
    const c = await client(s)
    await c.next((m) => m.kind === 'hello')
    // Stop reading: the kernel buffers fill and the server's bufferedAmount grows.
    const sock = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    sock.pause()
    const big = new Uint8Array(100 << 10).fill(0x78)
    const N = 300
    for (let i = 0; i < N; i++) {
      b.emit('camera.preview', { cameraId: 'cam1', at: i, jpeg: big })
      await new Promise((r) => setImmediate(r))
    }
    sock.resume()
    const last = await c.next((m) => m.kind === 'push' && (m.payload as { at: number }).at === N - 1, 10_000)
    expect(last.kind).toBe('push')
    const got = c.messages.filter((m) => m.kind === 'push').length
    // 300 × 100 KB = 30 MB offered; far fewer delivered, and the newest always arrives.
    expect(got).toBeLessThan(N / 2)
  }, 20_000)
})

describe('browser-mode server: slow clients', () => {
  it('disconnects a client that stops reading beyond the hard limit instead of queueing', async () => {
    const b = fakeBackend()
    const s = await serve(b, { tuning: { hardLimit: 512 << 10 } })
    const c = await client(s)
    await c.next((m) => m.kind === 'hello')
    const sock = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    sock.pause()
    const big = 'y'.repeat(100 << 10)
    for (let i = 0; i < 200 && s.clientCount() > 0; i++) {
      b.emit('people.changed', { count: i, pad: big } as unknown as { count: number })
      await new Promise((r) => setImmediate(r))
    }
    expect(s.clientCount()).toBe(0)
    sock.resume()
  })
})

describe('browser-mode server: token', () => {
  it('refuses invokes and pushes until the client authenticates', async () => {
    const b = fakeBackend()
    const token = 'correct-horse-battery-staple'
    const s = await serve(b, { token })
    expect(s.token).toBe(token)
    const c = await client(s)
    expect(await c.next((m) => m.kind === 'hello')).toMatchObject({ needsToken: true })
    expect((await c.invoke(1, 'people.list')).envelope).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    b.emit('review.changed', { pending: 1 })
    // Auth is silent: the console probes with an invoke, as the renderer's ws-client does.
    c.send({ kind: 'auth', token: 'wrong' })
    expect((await c.invoke(2, 'people.list')).envelope).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
    c.send({ kind: 'auth', token })
    expect((await c.invoke(3, 'people.list')).envelope).toEqual({ ok: true, value: [] })
    b.emit('review.changed', { pending: 2 })
    const push = await c.next((m) => m.kind === 'push')
    // The push sent before authentication never arrived.
    expect(push).toMatchObject({ payload: { pending: 2 } })
    expect(b.calls.filter((x) => x.channel === 'people.list')).toHaveLength(1)
  })

  it('closes a socket after repeated wrong tokens', async () => {
    const s = await serve(fakeBackend(), { token: 'correct-horse-battery-staple' })
    const c = await client(s)
    const closed = new Promise<number>((done) => c.ws.once('close', (code) => done(code)))
    for (let i = 0; i < 5; i++) c.send({ kind: 'auth', token: `guess-${i}` })
    expect(await closed).toBe(1008)
  })
})
