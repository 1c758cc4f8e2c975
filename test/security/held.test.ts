// The attacks of the review that already failed, kept failing: each runs against a real server on
// 127.0.0.1 with real sockets (or the real image decoder). Deeper coverage of each lives next to its
// box: test/shell/server.test.ts (Origin/Host, static paths, sizes), test/shell/dispatch.test.ts
// (channels, hostile payloads), test/shell/electron-*.test.ts (window/navigation/IPC lockdown),
// test/inference/image.test.ts (40 MP), test/security/camera-sources.test.ts (ffmpeg arguments,
// HLS-to-file chains).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeImage, probeImage } from '../../src/main/inference/image'
import { startServer, type RunningServer } from '../../src/main/server/server'
import { fakeBackend } from '../shell/fake-backend'
import { connect, wsUrl } from '../shell/ws-client'

const TOKEN = 'held-attacks-token-0123456789'
let tmp: string
let server: RunningServer
let open: RunningServer

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vigil-held-'))
  const staticDir = join(tmp, 'renderer')
  mkdirSync(staticDir)
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Vigil</title>')
  writeFileSync(join(tmp, 'secret.txt'), 'TOP-SECRET-FILE')
  server = await startServer({
    backend: fakeBackend(),
    port: 0,
    token: TOKEN,
    staticDir,
    log: () => {},
    tuning: { maxMessageBytes: 64 << 10 }
  })
  open = await startServer({ backend: fakeBackend(), port: 0, staticDir, log: () => {} })
})
afterAll(async () => {
  await server?.close()
  await open?.close()
  rmSync(tmp, { recursive: true, force: true })
})

function rawGet(
  s: RunningServer,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(
      { host: '127.0.0.1', port: s.port, path, headers: { host: `127.0.0.1:${s.port}`, ...headers } },
      (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => done({ status: res.statusCode ?? 0, body }))
      }
    )
    req.on('error', fail)
    req.end()
  })
}

function upgradeStatus(s: RunningServer, headers: Record<string, string>): Promise<number> {
  return new Promise((done) => {
    const ws = new WebSocket(wsUrl(s.url), { headers })
    ws.once('open', () => {
      ws.terminate()
      done(101)
    })
    ws.once('unexpected-response', (_q, res) => done(res.statusCode ?? 0))
    ws.once('error', () => done(-1))
  })
}

describe('held: who may talk to the server', () => {
  it('a foreign Origin cannot open the API socket (cross-site WebSocket hijacking)', async () => {
    expect(await upgradeStatus(open, { Origin: 'http://evil.example' })).toBe(403)
    expect(await upgradeStatus(open, { Origin: `https://127.0.0.1:${open.port}` })).toBe(403)
  })

  it('a foreign Host is refused on loopback (DNS rebinding), for pages and the socket', async () => {
    expect((await rawGet(open, '/', { host: `evil.example:${open.port}` })).status).toBe(403)
    expect(await upgradeStatus(open, { Host: `evil.example:${open.port}` })).toBe(403)
  })

  it('static paths cannot climb out of the console folder', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%5csecret.txt',
      '//etc/passwd'
    ]) {
      const r = await rawGet(open, p)
      expect(r.body, p).not.toContain('TOP-SECRET-FILE')
      expect(r.body, p).not.toMatch(/root:/)
    }
  })
})

describe('held: what an authenticated client may send', () => {
  it('media keys, unknown and prototype channels, oversized messages: clear errors, socket stays up', async () => {
    const c = await connect(server.url)
    c.send({ kind: 'auth', token: TOKEN })
    let id = 1
    for (const key of ['../../db.json', '/etc/passwd', 'photos\\..\\..\\db.json', 'photos/../../db.json'])
      expect((await c.invoke(id++, 'media.get', { key })).envelope, key).toMatchObject({
        ok: false,
        error: { code: 'invalid_request' }
      })
    for (const ch of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'system.info.__proto__'])
      expect((await c.invoke(id++, ch)).envelope, ch).toMatchObject({
        ok: false,
        error: { code: 'invalid_request', message: expect.stringMatching(/unknown operation/) }
      })
    c.send({ kind: 'invoke', id: 99, channel: 'people.list', pad: 'x'.repeat(100 << 10) })
    expect((await c.next((m) => m.kind === 'result' && m.id === 99)).kind).toBe('result')
    expect((await c.invoke(id, 'system.info')).envelope.ok).toBe(true)
    await c.close()
  })

  it('the token comparison is constant-time over digests: any length is simply wrong', async () => {
    for (const token of ['x', TOKEN.slice(0, -1), `${TOKEN}x`, 'y'.repeat(3000)]) {
      const c = await connect(server.url)
      c.send({ kind: 'auth', token })
      expect((await c.invoke(1, 'system.info')).envelope).toMatchObject({ ok: false, error: { code: 'unauthorized' } })
      await c.close()
    }
  })
})

describe('held: enrolment images', () => {
  it('over 40 MP is refused from the header alone', async () => {
    const big = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9 })
      .toBuffer()
    await expect(probeImage(big)).rejects.toMatchObject({ code: 'too_large' })
    await expect(decodeImage(big)).rejects.toMatchObject({ code: 'too_large' })
  })

  it('an SVG cannot pull in a local file or a URL', async () => {
    const secretPng = join(tmp, 'secret.png')
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } })
      .png()
      .toFile(secretPng)
    const svg = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">` +
        `<rect width="64" height="64" fill="#00f"/>` +
        `<image x="0" y="0" width="64" height="64" xlink:href="file://${secretPng}"/>` +
        `<image x="0" y="0" width="64" height="64" href="http://127.0.0.1:${open.port}/"/></svg>`
    )
    const img = await decodeImage(svg).catch((e: unknown) => e)
    if (img instanceof Error) {
      expect(img).toMatchObject({ code: 'bad_image' })
      return
    }
    const { data, width } = img as { data: Uint8Array; width: number }
    const mid = (32 * width + 32) * 3
    // the blue rectangle, not the red secret image
    expect([data[mid], data[mid + 1], data[mid + 2]]).toEqual([0, 0, 255])
  })
})
