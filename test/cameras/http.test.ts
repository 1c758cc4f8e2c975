// HTTP MJPEG camera (the multipart/x-mixed-replace kind cheap IP cameras serve), with Basic auth.
import { createServer, type Server, type ServerResponse } from 'node:http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource, testCameraUrl } from '../../src/main/cameras/source'
import { cameraConfig, waitForStatus } from './helpers'

const ffmpeg = locateFfmpeg().path
let server: Server
let base = ''
const clients = new Set<ServerResponse>()
let timer: NodeJS.Timeout

beforeAll(async () => {
  // two alternating 320×240 frames
  const jpegs = await Promise.all(
    [40, 200].map((v) =>
      sharp({ create: { width: 320, height: 240, channels: 3, background: { r: v, g: 255 - v, b: 90 } } })
        .jpeg()
        .toBuffer()
    )
  )
  let i = 0
  timer = setInterval(() => {
    const j = jpegs[i++ % 2]!
    for (const res of clients) {
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${j.length}\r\n\r\n`)
      res.write(j)
      res.write('\r\n')
    }
  }, 100)
  server = createServer((req, res) => {
    const auth = req.headers.authorization
    if (auth !== `Basic ${Buffer.from('viewer:s3cret').toString('base64')}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"' }).end()
      return
    }
    if (req.url !== '/video.mjpg') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame', 'Cache-Control': 'no-cache' })
    clients.add(res)
    req.on('close', () => clients.delete(res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(async () => {
  clearInterval(timer)
  for (const c of clients) c.destroy()
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

describe('HTTP MJPEG source', () => {
  it('streams frames with credentials in the URL', async () => {
    const src = new CameraSource(
      cameraConfig({ url: `http://viewer:s3cret@${base}/video.mjpg`, detectFps: 5, maxDetectWidth: 640 }),
      {
        ffmpegPath: ffmpeg
      }
    )
    src.start()
    const st = await waitForStatus(src, (s) => s.state === 'online', 10_000)
    expect(st).toMatchObject({ width: 320, height: 240 })
    await new Promise((r) => setTimeout(r, 600))
    const f = src.takeLatest()
    await src.stop()
    expect(f?.image.width).toBe(320)
    expect(f?.scale).toBe(1)
  })

  it('wrong password → "authentication failed"; wrong path → "not found"', async () => {
    const src = new CameraSource(cameraConfig({ url: `http://viewer:wrong@${base}/video.mjpg` }), {
      ffmpegPath: ffmpeg,
      backoff: { initialMs: 500 }
    })
    src.start()
    const st = await waitForStatus(src, (s) => s.state === 'error', 10_000)
    await src.stop()
    expect(st.reason).toBe('authentication failed')
    expect(JSON.stringify(st)).not.toContain('wrong')
    expect(await testCameraUrl(`http://viewer:s3cret@${base}/other.mjpg`)).toMatchObject({
      ok: false,
      error: 'not found'
    })
    expect(await testCameraUrl(`http://viewer:s3cret@${base}/video.mjpg`)).toMatchObject({
      ok: true,
      width: 320,
      height: 240
    })
  })
})
