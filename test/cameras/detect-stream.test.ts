// Detect stream vs view stream: with a second URL the camera analyses that stream (usually the
// camera's small sub-stream) and shows the main one on its tile, from one ffmpeg.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource } from '../../src/main/cameras/source'
import type { CameraFrame } from '../../src/main/contracts'
import { cameraConfig, makeMedia, sleep, waitForStatus } from './helpers'

const ffmpeg = locateFfmpeg().path
let media: ReturnType<typeof makeMedia>
let sub: string

beforeAll(() => {
  media = makeMedia(ffmpeg)
  // the "sub-stream": the same picture at 320×180
  sub = join(media.dir, 'sub.mp4')
  execFileSync(ffmpeg, [
    '-v',
    'error',
    '-nostdin',
    '-y',
    '-i',
    media.video,
    '-vf',
    'scale=320:180',
    '-c:v',
    'mpeg4',
    sub
  ])
})
afterAll(() => media?.cleanup())

describe('CameraSource with a detect stream', () => {
  it('analyses the detect stream and previews the view stream', async () => {
    const src = new CameraSource(
      cameraConfig({ url: media.video, detectUrl: sub, maxDetectWidth: 640, detectFps: 5, loop: true }),
      { ffmpegPath: ffmpeg }
    )
    const frames: CameraFrame[] = []
    const previews: Buffer[] = []
    src.on('frame', () => {
      const f = src.takeLatest()
      if (f) frames.push(f)
    })
    src.on('preview', (_id, jpeg) => previews.push(jpeg))
    src.start()
    try {
      const online = await waitForStatus(src, (s) => s.state === 'online', 15_000)
      // the size a box maps back to is the detect stream's; the overlay scales it onto the view
      expect(online).toMatchObject({ width: 320, height: 180 })
      await sleep(1500)
      const f = frames[frames.length - 1]!
      expect(f.image.width).toBe(320)
      expect(f.scale).toBeCloseTo(1, 6)
      const meta = await sharp(previews[previews.length - 1]!).metadata()
      expect(meta.width).toBe(480)
      expect(meta.height).toBe(270)
    } finally {
      await src.stop()
    }
  })
})
