import sharp from 'sharp'
import { recordingLogger } from '../support/logger'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource, testCameraUrl } from '../../src/main/cameras/source'
import { NO_CAMERA } from '../../src/main/cameras/stderr'
import type { CameraFrame } from '../../src/main/contracts'
import { cameraConfig, makeMedia, processAlive, sleep, waitForStatus } from './helpers'

const ffmpeg = locateFfmpeg().path
let media: ReturnType<typeof makeMedia>

beforeAll(() => {
  media = makeMedia(ffmpeg)
})
afterAll(() => media?.cleanup())

describe('CameraSource on a local file', () => {
  it('delivers scaled frames at ≈ detectFps and preview JPEGs, and stops without leaving ffmpeg behind', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video, detectFps: 5, maxDetectWidth: 320, loop: true }), {
      ffmpegPath: ffmpeg
    })
    const frames: CameraFrame[] = []
    const previews: Buffer[] = []
    const states: string[] = []
    src.on('frame', () => {
      const f = src.takeLatest()
      if (f) frames.push(f)
    })
    src.on('preview', (id, jpeg) => {
      expect(id).toBe('cam1')
      previews.push(jpeg)
    })
    src.on('status', (s) => states.push(s.state))
    src.start()
    const online = await waitForStatus(src, (s) => s.state === 'online', 10_000)
    expect(online).toMatchObject({ width: 640, height: 360, reason: null })
    const pid = src.pid()
    expect(pid).toBeGreaterThan(0)

    const t0 = Date.now()
    const n0 = frames.length
    await sleep(4000) // longer than the 3 s clip: the loop must keep frames coming
    const measured = ((frames.length - n0) * 1000) / (Date.now() - t0)
    console.log(
      `file source: ${measured.toFixed(2)} frames/s delivered (detectFps 5), status fps ${src.status().fps}, previews ${previews.length}`
    )
    expect(measured).toBeGreaterThan(4)
    expect(measured).toBeLessThan(6)
    expect(src.status().fps).toBeGreaterThan(4)
    expect(src.status().fps).toBeLessThan(6)

    const f = frames[frames.length - 1]!
    expect(f.image.width).toBe(320)
    expect(f.image.height).toBe(180)
    expect(f.image.data.length).toBe(320 * 180 * 3)
    expect(f.scale).toBeCloseTo(2, 6)
    expect(f.cameraId).toBe('cam1')
    expect(frames.every((x, i) => i === 0 || x.seq > frames[i - 1]!.seq)).toBe(true)
    // testsrc has a saturated colour bar pattern: the frame must not be blank
    expect(new Set(f.image.data.subarray(0, 3000)).size).toBeGreaterThan(4)

    expect(previews.length).toBeGreaterThan(8)
    const meta = await sharp(previews[previews.length - 1]!).metadata()
    expect(meta.format).toBe('jpeg')
    expect(meta.width).toBe(480)
    expect(meta.height).toBe(270)

    await src.stop()
    expect(src.pid()).toBeNull()
    expect(processAlive(pid!)).toBe(false)
    expect(src.status().state).toBe('offline')
    expect(states[0]).toBe('connecting')
    const after = frames.length
    await sleep(500)
    expect(frames.length).toBe(after)
  })

  it('keeps only the newest frame for a consumer that does not keep up, and counts drops', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video, detectFps: 10, maxDetectWidth: 160 }), {
      ffmpegPath: ffmpeg
    })
    src.start()
    await waitForStatus(src, (s) => s.state === 'online', 10_000)
    await sleep(1500)
    const a = src.takeLatest()
    expect(a).not.toBeNull()
    expect(src.takeLatest()).toBeNull() // claimed: the slot is empty until the next frame
    await sleep(600)
    const b = src.takeLatest()
    const st = src.stats()
    await src.stop()
    expect(b!.seq).toBeGreaterThan(a!.seq)
    expect(st.taken).toBe(2)
    expect(st.dropped).toBe(st.delivered - 2) // b was claimed just before the snapshot: the slot is empty
    expect(st.dropped).toBeGreaterThan(5)
  })

  it('applies a new detection width through update()', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video, maxDetectWidth: 320 }), { ffmpegPath: ffmpeg })
    src.start()
    await waitForStatus(src, (s) => s.state === 'online', 10_000)
    await src.update(cameraConfig({ url: media.video, maxDetectWidth: 200 }))
    await waitForStatus(src, (s) => s.state === 'online', 10_000)
    await sleep(500)
    const f = src.takeLatest()
    await src.stop()
    expect(f?.image.width).toBe(200)
    expect(f?.image.height).toBe(112)
    expect(f?.scale).toBeCloseTo(3.2, 6)
  })

  it('does not run while disabled', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video, enabled: false }), { ffmpegPath: ffmpeg })
    src.start()
    expect(src.status().state).toBe('disabled')
    expect(src.pid()).toBeNull()
    await src.stop()
  })
})

describe('CameraSource errors', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing file', () => `${media.dir}/nope.mp4`, /not found/],
    ['not a video', () => media.notVideo, /not a video stream/],
    // a refused port reads like any other non-camera (no port scanning through the console)
    ['refused RTSP', () => 'rtsp://user:topsecret@127.0.0.1:1/x', /not a video stream/]
  ]
  it.each(cases)(
    '%s → error with a reason, retried with backoff, never leaking credentials',
    async (_name, url, reason) => {
      const seen: string[] = []
      const logs: string[] = []
      const src = new CameraSource(cameraConfig({ url: url() }), {
        ffmpegPath: ffmpeg,
        backoff: { initialMs: 200, maxMs: 400 },
        logger: recordingLogger((_level, l) => void logs.push(l))
      })
      src.on('status', (s) => seen.push(JSON.stringify(s)))
      src.start()
      const st = await waitForStatus(src, (s) => s.state === 'error', 10_000)
      expect(st.reason).toMatch(reason)
      await waitForStatus(src, (s) => s.restarts >= 2, 10_000)
      expect(src.status().state).toBe('error') // no flicker back to 'connecting' between attempts
      await src.stop()
      expect(seen.join('\n')).not.toContain('topsecret')
      expect(logs.join('\n')).not.toContain('topsecret')
      expect(logs.length).toBeGreaterThan(0)
    }
  )

  it('a malformed URL is a configuration error: no ffmpeg, no retry', async () => {
    const src = new CameraSource(cameraConfig({ url: 'ftp://cam/x' }), {
      ffmpegPath: ffmpeg,
      backoff: { initialMs: 50 }
    })
    src.start()
    expect(src.status()).toMatchObject({ state: 'error', reason: expect.stringMatching(/unsupported URL scheme/) })
    await sleep(300)
    expect(src.status().restarts).toBe(0)
    expect(src.stats().spawns).toBe(0)
    await src.stop()
  })

  it('a non-looping file that ends is reported as ended, not as an error', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video, loop: false, detectFps: 5 }), { ffmpegPath: ffmpeg })
    src.start()
    await waitForStatus(src, (s) => s.state === 'online', 10_000)
    const st = await waitForStatus(src, (s) => s.state === 'offline', 10_000)
    expect(st.reason).toBe('end of file')
    await src.stop()
  })
})

describe('testCameraUrl', () => {
  it('grabs one frame as a JPEG data URL', async () => {
    const r = await testCameraUrl(media.video)
    expect(r).toMatchObject({ ok: true, width: 640, height: 360, error: null })
    expect(r.preview).toMatch(/^data:image\/jpeg;base64,\/9j\//)
  })

  it('answers bad URLs with a clear error and never throws', async () => {
    expect(await testCameraUrl(`${media.dir}/nope.mp4`)).toMatchObject({ ok: false, preview: null, error: 'not found' })
    expect(await testCameraUrl(media.notVideo)).toMatchObject({ ok: false, error: 'not a video stream' })
    const refused = await testCameraUrl('rtsp://admin:topsecret@127.0.0.1:1/x')
    expect(refused).toMatchObject({ ok: false, error: NO_CAMERA })
    expect(await testCameraUrl('gopher://x')).toMatchObject({ ok: false, error: expect.stringMatching(/unsupported/) })
  })

  it('times out on a server that accepts but never answers', async () => {
    const { createServer } = await import('node:net')
    const silent = createServer(() => {})
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    try {
      const t0 = Date.now()
      const r = await testCameraUrl(`rtsp://127.0.0.1:${port}/x`, 2500)
      expect(r.ok).toBe(false)
      expect(r.error).toMatch(/timeout/)
      expect(Date.now() - t0).toBeLessThan(4000)
    } finally {
      silent.close()
    }
  })
})
