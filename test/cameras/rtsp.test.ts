// Real RTSP: a GStreamer server on 127.0.0.1 serves the Hamilton clip; the camera must come
// online, notice the server going away, and come back by itself when it returns.
import { skipUnless } from '../support/data'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource, testCameraUrl } from '../../src/main/cameras/source'
import { rtspAvailable, startRtspServer, type RtspServer } from '../support/rtsp'
import { cameraConfig, dataDir, processAlive, sleep, waitForStatus } from './helpers'

const clip = join(dataDir, 'video/short_hamilton_clip.mp4')
const avail = rtspAvailable()
const skipWhy = !avail.ok ? avail.why : !existsSync(clip) ? `test clip missing: ${clip} (set VIGIL_TEST_DATA)` : null
const skip = skipUnless('real RTSP tests', [[skipWhy === null, skipWhy ?? '']])

const bundled = ((): string | null => {
  try {
    const p = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path
    return existsSync(p) ? p : null
  } catch {
    return null
  }
})()

describe.skipIf(skip)('CameraSource over real RTSP', () => {
  let server: RtspServer
  beforeAll(async () => {
    server = await startRtspServer({ file: clip })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('goes online, goes offline when the server stops, and recovers by itself when it returns', async () => {
    const src = new CameraSource(cameraConfig({ url: server.url, detectFps: 5, maxDetectWidth: 480 }), {
      ffmpegPath: locateFfmpeg().path,
      watchdogMs: 5000,
      backoff: { initialMs: 1000, maxMs: 4000 }
    })
    let frames = 0
    src.on('frame', () => {
      if (src.takeLatest()) frames++
    })
    const t0 = Date.now()
    src.start()
    const online = await waitForStatus(src, (s) => s.state === 'online', 15_000)
    const tOnline = Date.now() - t0
    expect(online).toMatchObject({ width: 640, height: 360 })
    await sleep(2000)
    const f = src.takeLatest()
    expect(frames).toBeGreaterThan(5)
    if (f) {
      expect(f.image.width).toBe(480)
      expect(f.image.height).toBe(270)
      expect(f.scale).toBeCloseTo(640 / 480, 6)
    }
    const pid1 = src.pid()!

    const tStop = Date.now()
    await server.stop()
    const offline = await waitForStatus(src, (s) => s.state === 'offline', 10_000)
    const tOffline = Date.now() - tStop
    expect(offline.reason).toBeTruthy()
    expect(processAlive(pid1)).toBe(false)
    await sleep(1500) // the camera stays away a little while

    const tBack = Date.now()
    await server.restart()
    const again = await waitForStatus(src, (s) => s.state === 'online', 20_000)
    const tRecover = Date.now() - tBack
    const n = frames
    await sleep(1500)
    expect(frames).toBeGreaterThan(n)
    console.log(
      `RTSP: online after ${tOnline} ms; offline ${tOffline} ms after server stop (reason "${offline.reason}"); ` +
        `online again ${tRecover} ms after server restart; restarts ${again.restarts}`
    )
    expect(tOffline).toBeLessThan(10_000)
    expect(tRecover).toBeLessThan(20_000)
    expect(again.restarts).toBeGreaterThanOrEqual(1)
    await src.stop()
  })

  it('a hung server (SIGSTOP: socket open, no data) trips the watchdog; SIGCONT brings it back', async () => {
    const src = new CameraSource(cameraConfig({ id: 'cam3', url: server.url, detectFps: 5 }), {
      ffmpegPath: locateFfmpeg().path,
      watchdogMs: 3000,
      backoff: { initialMs: 500, maxMs: 2000 }
    })
    src.start()
    await waitForStatus(src, (s) => s.state === 'online', 15_000)
    const pid = server.pid()!
    const tHang = Date.now()
    process.kill(pid, 'SIGSTOP')
    try {
      const off = await waitForStatus(src, (s) => s.state === 'offline', 10_000)
      console.log(`hung RTSP server: offline after ${Date.now() - tHang} ms (reason "${off.reason}")`)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    const tCont = Date.now()
    await waitForStatus(src, (s) => s.state === 'online', 20_000)
    console.log(
      `hung RTSP server resumed: online again after ${Date.now() - tCont} ms, restarts ${src.status().restarts}`
    )
    await src.stop()
  })

  it('testCameraUrl grabs a frame, and a wrong mount is "not found"', async () => {
    const ok = await testCameraUrl(server.url)
    expect(ok).toMatchObject({ ok: true, width: 640, height: 360 })
    const missing = await testCameraUrl(server.url.replace(/\/cam$/, '/nothing-here'))
    expect(missing).toMatchObject({ ok: false, error: 'not found' })
  })

  it.skipIf(!bundled)('refuses the bundled 2018 ffmpeg instead of running it on camera input', async () => {
    // its demuxers predate years of security fixes; test/security/camera-sources.test.ts has the attack
    const r = await testCameraUrl(server.url, 8000, { ffmpegPath: bundled! })
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/too old/) })
  })
})
