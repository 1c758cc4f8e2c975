import { describe, expect, it } from 'vitest'
import { parseVideoStreamSize, reasonFromStderr, StderrReader } from '../../src/main/cameras/stderr'

describe('parseVideoStreamSize', () => {
  it('reads the size from ffmpeg 5 and ffmpeg 4 stream lines', () => {
    expect(
      parseVideoStreamSize(
        '  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 640x360 [SAR 1:1 DAR 16:9], 422 kb/s, 29.97 fps'
      )
    ).toEqual({ width: 640, height: 360 })
    expect(
      parseVideoStreamSize(
        '    Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 480x270 [SAR 1:1 DAR 16:9], q=2-31'
      )
    ).toEqual({ width: 480, height: 270 })
    expect(
      parseVideoStreamSize('  Stream #0:0: Video: h264 (High), yuvj420p(pc, bt709, progressive), 2560x1440, 25 fps')
    ).toEqual({
      width: 2560,
      height: 1440
    })
    expect(parseVideoStreamSize('  Stream #0:1[0x2](eng): Audio: aac (LC), 44100 Hz, stereo')).toBeNull()
  })
})

describe('reasonFromStderr', () => {
  const cases: Array<[string[], string]> = [
    [
      [
        '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized',
        'rtsp://u:***@h/x: Server returned 401 Unauthorized (authorization failed)'
      ],
      'authentication failed'
    ],
    [['/tmp/nope.mp4: No such file or directory'], 'not found'],
    [['[http @ 0x5] HTTP error 404 File not found', 'http://h/x: Server returned 404 Not Found'], 'not found'],
    [
      [
        '[tcp @ 0x5] Connection to tcp://127.0.0.1:1?timeout=0 failed: Connection refused',
        'rtsp://127.0.0.1:1/x: Connection refused'
      ],
      'connection refused'
    ],
    [['[tcp @ 0x5] Connection to tcp://10.0.0.9:554?timeout=5000000 failed: Connection timed out'], 'timeout'],
    [
      ['[mov,mp4 @ 0x2] moov atom not found', '/tmp/x.mp4: Invalid data found when processing input'],
      'not a video stream'
    ],
    [['[tcp @ 0x5] Failed to resolve hostname nowhere.invalid: Name or service not known'], 'host not found'],
    [['rtsp://h/x: Connection reset by peer'], 'connection lost']
  ]
  it.each(cases)('%j → %s', (lines, reason) => {
    expect(reasonFromStderr(lines)).toBe(reason)
  })

  it('ignores stream description lines and falls back to the last error-looking line', () => {
    expect(reasonFromStderr(['  Stream #0:0: Video: h264, 640x360, 401 kb/s'])).toBeNull()
    expect(reasonFromStderr(['[h264 @ 0x1] something odd', '[graph 0] Error reinitializing filters!'])).toBe(
      'Error reinitializing filters!'
    )
  })
})

describe('StderrReader', () => {
  it('splits \\r and \\n across chunks, redacts, and tracks input and output sizes', () => {
    const r = new StderrReader(5)
    const text = [
      "Input #0, rtsp, from 'rtsp://admin:secret@10.0.0.5/s':",
      '  Duration: N/A, start: 0.000000, bitrate: N/A',
      '  Stream #0:0: Video: h264 (Main), yuv420p(progressive), 1280x720, 25 fps',
      "Output #0, rawvideo, to 'pipe:1':",
      '  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 640x360, q=2-31',
      "Output #1, mjpeg, to 'pipe:3':",
      '  Stream #1:0: Video: mjpeg, yuvj420p(pc), 480x270, q=2-31',
      'frame=   10 fps=5.0\rframe=   20 fps=5.0\r'
    ].join('\n')
    const lines: string[] = []
    for (let i = 0; i < text.length; i += 7) lines.push(...r.push(text.slice(i, i + 7)))
    lines.push(...r.end())
    expect(lines.join('\n')).not.toContain('secret')
    expect(r.inputSize).toEqual({ width: 1280, height: 720 })
    expect(r.outputSizes.get(0)).toEqual({ width: 640, height: 360 })
    expect(r.outputSizes.get(1)).toEqual({ width: 480, height: 270 })
    expect(r.lines().length).toBe(5)
    expect(lines.at(-1)).toBe('frame=   20 fps=5.0')
  })
})
