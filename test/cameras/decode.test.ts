// Decoder options (threads, hardware, keyframes only) and what the camera status says decoded it.
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_DECODE, decodeArgs, describeDecoder } from '../../src/main/cameras/decode'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource } from '../../src/main/cameras/source'
import { cameraConfig, makeMedia } from './helpers'

const STREAM = '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 1920x1080, 25 fps'

describe('decodeArgs', () => {
  it('one software thread and hwaccel auto by default; keyframes only and skip_loop_filter on request', () => {
    expect(decodeArgs(DEFAULT_DECODE)).toEqual(['-hwaccel', 'auto', '-threads', '1'])
    expect(decodeArgs({ ...DEFAULT_DECODE, hwaccel: 'off', threads: 0 })).toEqual([])
    expect(decodeArgs({ threads: 2, hwaccel: 'vaapi', keyframesOnly: true, skipLoopFilter: true })).toEqual([
      '-hwaccel',
      'vaapi',
      '-threads',
      '2',
      '-skip_frame',
      'nokey',
      '-skip_loop_filter',
      'all'
    ])
  })
})

describe('describeDecoder', () => {
  it('is unknown before the input is opened', () => {
    expect(describeDecoder(['ffmpeg version 5.1'], DEFAULT_DECODE)).toBeNull()
  })
  it('reports software when ffmpeg found no device', () => {
    const lines = [
      STREAM,
      '[error] Device creation failed: -1.',
      '[h264 @ 0x1] Auto hwaccel disabled: no device found.'
    ]
    expect(describeDecoder(lines, DEFAULT_DECODE)).toBe('h264 · software, 1 thread')
  })
  it('reports the hardware ffmpeg picked', () => {
    const lines = [STREAM, '[h264 @ 0x1] Using auto hwaccel type vaapi with new default device.']
    expect(describeDecoder(lines, DEFAULT_DECODE)).toBe('h264 · vaapi')
  })
  it('never claims hardware it cannot see', () => {
    expect(describeDecoder([STREAM], DEFAULT_DECODE)).toBe('h264 · hwaccel auto (unconfirmed)')
    expect(describeDecoder([STREAM], { ...DEFAULT_DECODE, hwaccel: 'off', keyframesOnly: true })).toBe(
      'h264 · software, 1 thread, keyframes only'
    )
  })
})

describe('CameraSource decoder status (real ffmpeg)', () => {
  const ffmpeg = locateFfmpeg().path
  const media = makeMedia(ffmpeg)
  afterAll(() => media.cleanup())

  it('shows which decoder the running camera got', async () => {
    const src = new CameraSource(cameraConfig({ url: media.video }), { ffmpegPath: ffmpeg })
    src.start()
    try {
      const until = Date.now() + 20_000
      while (!(src.status().state === 'online' && src.status().decoder) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100))
      // no GPU on the CI box: ffmpeg falls back to software; on a GPU box the hwaccel name shows
      expect(src.status().decoder).toMatch(/^\w+ · (software, 1 thread|\w+)$/)
    } finally {
      await src.stop()
    }
  })
})
