// Finding 1 (HIGH) of the review, replayed against a real server on 127.0.0.1 with real ffmpeg:
// a camera URL must reach only cameras. Each test is the attack as it was run; it must now fail
// safely (no preview, a clear error that gives nothing away).
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer as createHttp, type Server } from 'node:http'
import { createServer as createTcp, type Server as TcpServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { FILES_NOT_LISTED, FILES_OFF_REMOTE } from '../../src/main/cameras/policy'
import { CameraSource, testCameraUrl } from '../../src/main/cameras/source'
import { NO_CAMERA } from '../../src/main/cameras/stderr'
import type { CameraTestResult } from '../../src/shared/types'
import { freePort } from '../support/rtsp'
import { connect, type TestClient } from '../shell/ws-client'
import { cameraLab, type CameraLab } from './support'

const ffmpeg = locateFfmpeg().path
let lab: CameraLab
let client: TestClient
let allowed: string
let outside: string
let internal: Server
let internalBase = ''
let banner: TcpServer
let bannerPort = 0
const bannerSockets = new Set<Socket>()
let nextId = 1

async function test(url: string): Promise<CameraTestResult & { code?: string }> {
  const id = nextId++
  client.send({ kind: 'invoke', id, channel: 'cameras.test', payload: { url } })
  // probes queue for the global semaphore: allow for a few ahead of this one
  const m = await client.next((x) => x.kind === 'result' && x.id === id, 30_000)
  const r = m as Extract<typeof m, { kind: 'result' }>
  if (!r.envelope.ok)
    return {
      ok: false,
      width: null,
      height: null,
      preview: null,
      error: r.envelope.error.message,
      code: r.envelope.error.code
    }
  return r.envelope.value as CameraTestResult
}

beforeAll(async () => {
  lab = await cameraLab()
  allowed = join(lab.dir, 'videos')
  outside = join(lab.dir, 'private')
  mkdirSync(allowed)
  mkdirSync(outside)
  lab.store.data.settings.localVideoFolders = [allowed]
  writeFileSync(join(outside, 'notes.txt'), 'DB_PASSWORD=hunter2\nAPI_KEY=abc\n'.repeat(20))
  writeFileSync(join(allowed, 'notes.txt'), 'DB_PASSWORD=hunter2\n'.repeat(20))
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#f00' } })
    .png()
    .toFile(join(allowed, 'id.png'))
  const clip = (to: string): void =>
    void execFileSync(ffmpeg, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=10',
      '-t',
      '2',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'mpeg4',
      to
    ])
  clip(join(allowed, 'door.mp4'))
  clip(join(outside, 'secret.mp4'))
  symlinkSync(join(outside, 'secret.mp4'), join(allowed, 'link.mp4'))
  // an internal HTTP service: config text, an image, and an HLS playlist pointing at a local file
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0f0' } })
    .jpeg()
    .toBuffer()
  internal = createHttp((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/config.env')
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('DB_PASSWORD=hunter2\n'.repeat(50))
    else if (path === '/badge.jpg') res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(jpeg)
    else if (path === '/live.m3u8')
      res
        .writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl' })
        .end(
          `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${pathToFileURL(join(outside, 'secret.mp4')).href}\n#EXT-X-ENDLIST\n`
        )
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r))
  internalBase = `http://127.0.0.1:${(internal.address() as { port: number }).port}`
  // an open port that is not a camera (an SSH-like banner, then silence)
  banner = createTcp((s) => {
    bannerSockets.add(s)
    s.on('close', () => bannerSockets.delete(s))
    s.on('error', () => {})
    s.end('SSH-2.0-OpenSSH_9.2p1\r\n')
  })
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r))
  bannerPort = (banner.address() as { port: number }).port
  client = await connect(lab.server.url)
}, 60_000)

afterAll(async () => {
  await client?.close()
  internal?.closeAllConnections()
  await new Promise((r) => internal?.close(r))
  for (const s of bannerSockets) s.destroy()
  await new Promise((r) => banner?.close(r))
  await lab?.close()
})

describe('local files', () => {
  it('a text file outside the listed folders is refused before ffmpeg runs (path and file:// form)', async () => {
    for (const url of [join(outside, 'notes.txt'), pathToFileURL(join(outside, 'notes.txt')).href]) {
      const r = await test(url)
      expect(r).toMatchObject({ ok: false, preview: null, error: FILES_NOT_LISTED })
    }
    // a file that does not exist outside the folders gets the same answer: no existence oracle
    expect(await test(join(outside, 'nope.txt'))).toMatchObject({ ok: false, error: FILES_NOT_LISTED })
    expect(await test('/etc/passwd')).toMatchObject({ ok: false, error: FILES_NOT_LISTED })
    expect(await test(`${allowed}/../private/secret.mp4`)).toMatchObject({ ok: false, error: FILES_NOT_LISTED })
  })

  it('a symlink inside a listed folder that leads out of it is refused (realpath)', async () => {
    expect(await test(join(allowed, 'link.mp4'))).toMatchObject({ ok: false, preview: null, error: FILES_NOT_LISTED })
  })

  it('inside a listed folder, text and images are not video (format whitelist), a clip is', async () => {
    expect(await test(join(allowed, 'notes.txt'))).toMatchObject({
      ok: false,
      preview: null,
      error: 'not a video stream'
    })
    expect(await test(join(allowed, 'id.png'))).toMatchObject({ ok: false, preview: null })
    const ok = await test(join(allowed, 'door.mp4'))
    expect(ok).toMatchObject({ ok: true, width: 320, height: 240 })
  })

  it('a camera cannot be saved with a refused file either', async () => {
    const r = await client.invoke(nextId++, 'cameras.create', { name: 'leak', url: join(outside, 'notes.txt') })
    expect(r.envelope).toMatchObject({ ok: false, error: { code: 'invalid_request', message: FILES_NOT_LISTED } })
    expect(lab.store.data.cameras).toHaveLength(0)
  })

  it('off loopback no local file is read, even in a listed folder', async () => {
    const exposed = await cameraLab({ exposed: true })
    exposed.store.data.settings.localVideoFolders = [allowed]
    try {
      expect(await exposed.cameras.test(join(allowed, 'door.mp4'))).toMatchObject({
        ok: false,
        error: FILES_OFF_REMOTE
      })
    } finally {
      await exposed.close()
    }
  })
})

describe('network sources', () => {
  it('an internal HTTP service answering text (…/config.env?x=.txt) gives no preview', async () => {
    const r = await test(`${internalBase}/config.env?x=.txt`)
    expect(r).toMatchObject({ ok: false, preview: null, error: NO_CAMERA })
    expect(JSON.stringify(r)).not.toContain('hunter2')
  })

  it('an internal image is not a camera either (no image demuxers)', async () => {
    expect(await test(`${internalBase}/badge.jpg`)).toMatchObject({ ok: false, preview: null })
  })

  it('an HLS playlist cannot pull a local file (HLS-to-file chain)', async () => {
    const r = await test(`${internalBase}/live.m3u8`)
    expect(r).toMatchObject({ ok: false, preview: null })
  })

  it('closed port, open non-camera port and a non-video HTTP answer read the same (no port scanner)', async () => {
    const closed = await freePort()
    const answers = await Promise.all([
      test(`rtsp://127.0.0.1:${closed}/x`),
      test(`rtsp://127.0.0.1:${bannerPort}/x`),
      test(`http://127.0.0.1:${closed}/x`),
      test(`http://127.0.0.1:${bannerPort}/x`),
      test(`${internalBase}/config.env`)
    ])
    for (const a of answers) expect(a).toMatchObject({ ok: false, preview: null, error: NO_CAMERA })
  }, 60_000)

  it('failures are not told apart by timing: each takes at least the padding', async () => {
    const closed = await freePort()
    const t0 = Date.now()
    await test(`rtsp://127.0.0.1:${closed}/x`)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400)
  })
})

describe('devices and arguments', () => {
  it('screen grabbers and arbitrary /dev paths are refused', async () => {
    for (const url of [
      'dshow:video=screen-capture-recorder',
      'dshow:video=UScreenCapture',
      'dshow:video=Cam:audio=Microphone',
      'avfoundation:1',
      'avfoundation:Capture screen 0',
      'v4l2:/dev/../etc/passwd',
      'v4l2:/dev/sda'
    ]) {
      const r = await test(url)
      expect(r.ok, url).toBe(false)
      expect(r.preview).toBeNull()
    }
  })

  it('a URL cannot smuggle ffmpeg options (one argv element, schemes only)', async () => {
    for (const url of [
      '-i /etc/passwd',
      'rtsp://h/x -f tty -i /etc/passwd',
      'concat:/etc/passwd|/etc/hosts',
      'subfile:,,start,0,end,0,,:/etc/passwd',
      'data:text/plain,hello'
    ])
      expect((await test(url)).ok, url).toBe(false)
  })
})

describe('ffmpeg itself', () => {
  const bundled = ((): string | null => {
    try {
      return locateFfmpeg({ env: { PATH: '' } }).path
    } catch {
      return null
    }
  })()

  it.skipIf(!bundled)('the bundled 2018 ffmpeg is refused with a clear message, never run on input', async () => {
    const r = await testCameraUrl(`${internalBase}/config.env`, 5000, { ffmpegPath: bundled!, minFailMs: 0 })
    expect(r).toMatchObject({
      ok: false,
      preview: null,
      error: expect.stringMatching(/too old.*install a current ffmpeg/)
    })
    const src = new CameraSource(
      {
        id: 'old',
        name: 'old',
        url: `${internalBase}/x.mjpg`,
        enabled: true,
        detectFps: 1,
        maxDetectWidth: 320,
        minFaceSize: 20,
        loop: false
      },
      { ffmpegPath: bundled! }
    )
    src.start()
    await new Promise((r) => setTimeout(r, 3000))
    expect(src.status()).toMatchObject({ state: 'error', reason: expect.stringMatching(/too old/) })
    expect(src.stats().spawns).toBe(0)
    await src.stop()
  })
})
