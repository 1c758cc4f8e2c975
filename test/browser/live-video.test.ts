// The only tile on screen plays the RTSP camera as live video (fMP4 remux + Media Source
// Extensions), with frames advancing at the stream's rate, not at the 4 fps of JPEG previews.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dataPath, hasData, hasModels, skipUnless } from '../support/data'
import { rtspAvailable, startRtspServer, type RtspServer } from '../support/rtsp'
import { connect } from '../shell/ws-client'
import {
  chromiumAvailable,
  guardedPage,
  launchChromium,
  rendererBuilt,
  shot,
  startVigil,
  type LaunchedBrowser,
  type VigilServer
} from './support/browser'

const CLIP = 'video/short_hamilton_clip.mp4'
/** the clip's frame rate */
const STREAM_FPS = 29.97
const chrome = chromiumAvailable()
const built = rendererBuilt()
const rtsp = rtspAvailable()
const skip = skipUnless('live video (browser)', [
  [chrome.ok, chrome.why ?? 'Chromium unavailable'],
  [built.ok, built.why ?? 'renderer not built'],
  [rtsp.ok, rtsp.why ?? 'GStreamer RTSP server unavailable'],
  [hasData(CLIP), `test data ${dataPath(CLIP)} not found (set VIGIL_DATA)`],
  [hasModels(), 'models missing; run `npm run models`']
])

interface VideoLike {
  readyState: number
  currentTime: number
  videoWidth: number
  getVideoPlaybackQuality(): { totalVideoFrames: number; droppedVideoFrames: number }
  /** Chromium: frames the decoder produced */
  webkitDecodedFrameCount?: number
}

describe.skipIf(skip)('focused tile live video', () => {
  let camServer: RtspServer
  let vigil: VigilServer
  let browser: LaunchedBrowser

  beforeAll(async () => {
    camServer = await startRtspServer({ file: dataPath(CLIP), repeat: 20 })
    vigil = await startVigil()
    browser = await launchChromium()
    const c = await connect(vigil.url)
    const r = await c.invoke(1, 'cameras.create', { name: 'Stage', url: camServer.url, detectFps: 2 })
    expect(r.envelope.ok).toBe(true)
    await c.close()
  })

  afterAll(async () => {
    await browser?.close()
    await vigil?.stop()
    await camServer?.stop()
  })

  it('plays the RTSP stream as video at its own frame rate', async () => {
    const { page, assertClean } = await guardedPage(browser.context)
    await page.goto(vigil.url)
    const video = page.getByTestId('tile-video')
    await video.waitFor({ state: 'visible', timeout: 60_000 })
    await page.getByTestId('tile-video-live').waitFor({ timeout: 30_000 })
    const sample = (): Promise<{ frames: number; dropped: number; decoded: number; t: number; w: number }> =>
      video.evaluate((v: VideoLike) => ({
        frames: v.getVideoPlaybackQuality().totalVideoFrames,
        dropped: v.getVideoPlaybackQuality().droppedVideoFrames,
        decoded: v.webkitDecodedFrameCount ?? 0,
        t: v.currentTime,
        w: v.videoWidth
      }))
    const a = await sample()
    const t0 = Date.now()
    const first = await shot(page, 'live-video-1')
    await page.waitForTimeout(1000)
    const second = await shot(page, 'live-video-2')
    await page.waitForTimeout(1500)
    const b = await sample()
    const secs = (Date.now() - t0) / 1000
    const fps = (b.frames - a.frames) / secs
    const decodedFps = (b.decoded - a.decoded) / secs
    console.log(
      `[live-video] ${fps.toFixed(1)} frames/s through the player (${((b.dropped - a.dropped) / secs).toFixed(1)}/s dropped by the compositor), ${decodedFps.toFixed(1)} decoded/s (stream ${STREAM_FPS}), media time +${(b.t - a.t).toFixed(2)} s in ${secs.toFixed(2)} s, ${b.w} px wide; screenshots ${first} ${second}`
    )
    expect(b.w).toBe(640)
    // JPEG previews come at 4 fps; the video's frames must advance near the stream's rate: media
    // time keeps up with the clock and the decoder produces the stream's frames (headless Chromium
    // on a loaded machine may still drop some at paint time)
    expect((b.t - a.t) / secs).toBeGreaterThan(0.8)
    expect(decodedFps).toBeGreaterThan(STREAM_FPS * 0.5)
    assertClean()
  }, 150_000)
})
