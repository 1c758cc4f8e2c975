import { describe, expect, it } from 'vitest'
import {
  classifyUrl,
  CameraUrlError,
  FORMAT_WHITELIST,
  inputArgs,
  PROTOCOL_WHITELIST,
  redactUrl,
  scaledSize,
  scaleFilter,
  type SourceKind
} from '../../src/main/cameras/url'

const guard = (k: SourceKind): string[] => [
  '-protocol_whitelist',
  PROTOCOL_WHITELIST[k],
  '-format_whitelist',
  FORMAT_WHITELIST[k]
]

describe('classifyUrl', () => {
  it('recognises every supported kind', () => {
    expect(classifyUrl('rtsp://10.0.0.5:554/stream1')).toMatchObject({ kind: 'rtsp', secure: false, live: true })
    expect(classifyUrl('rtsps://cam.local/live')).toMatchObject({ kind: 'rtsp', secure: true })
    expect(classifyUrl('http://cam.local/video.mjpg')).toMatchObject({ kind: 'http', mjpeg: true, secure: false })
    expect(classifyUrl('http://cam.local/?action=stream')).toMatchObject({ kind: 'http', mjpeg: true })
    expect(classifyUrl('https://example.com/live/index.m3u8')).toMatchObject({
      kind: 'http',
      mjpeg: false,
      secure: true
    })
    expect(classifyUrl('/srv/videos/door.mp4')).toMatchObject({
      kind: 'file',
      input: '/srv/videos/door.mp4',
      live: false
    })
    expect(classifyUrl('file:///srv/videos/my%20door.mp4')).toMatchObject({
      kind: 'file',
      input: '/srv/videos/my door.mp4'
    })
    expect(classifyUrl('C:\\videos\\door.mp4')).toMatchObject({ kind: 'file', input: 'C:\\videos\\door.mp4' })
    expect(classifyUrl('v4l2:/dev/video0')).toMatchObject({ kind: 'v4l2', input: '/dev/video0', live: true })
    expect(classifyUrl('dshow:video=Integrated Camera')).toMatchObject({
      kind: 'dshow',
      input: 'video=Integrated Camera'
    })
    expect(classifyUrl('avfoundation:FaceTime HD Camera')).toMatchObject({
      kind: 'avfoundation',
      input: 'FaceTime HD Camera'
    })
    expect(classifyUrl('  RTSP://cam/x  ')).toMatchObject({ kind: 'rtsp' })
  })

  it('rejects bad input with a reason that never echoes the password', () => {
    expect(() => classifyUrl('')).toThrow(CameraUrlError)
    expect(() => classifyUrl('ftp://cam/x')).toThrow(/unsupported URL scheme "ftp:"/)
    expect(() => classifyUrl('videos/door.mp4')).toThrow(/absolute file path/)
    expect(() => classifyUrl('v4l2:video0')).toThrow(/v4l2:\/dev\/video0/)
    expect(() => classifyUrl('dshow:Integrated Camera')).toThrow(/dshow:video=/)
    expect(() => classifyUrl('avfoundation:')).toThrow(CameraUrlError)
    try {
      classifyUrl('rtsp://admin:hunter2@')
      expect.unreachable()
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2')
    }
  })
})

describe('redactUrl', () => {
  it('hides the password, keeps the user', () => {
    // user and password are blanked together: a user name is half of a credential
    expect(redactUrl('rtsp://user:pass@host/x')).toBe('rtsp://***@host/x')
    expect(redactUrl('rtsp://admin:p@ss@10.0.0.5:554/s')).toBe('rtsp://***@10.0.0.5:554/s')
    expect(redactUrl('rtsp://admin@host/x')).toBe('rtsp://***@host/x')
    expect(redactUrl('https://ghp_s3cretT0ken@cams.example/mjpeg')).toBe('https://***@cams.example/mjpeg')
    expect(redactUrl('rtsp://host/x')).toBe('rtsp://host/x')
    expect(redactUrl('http://cam/video.cgi?user=admin&password=secret&res=1')).toBe(
      'http://cam/video.cgi?user=***&password=***&res=***'
    )
    expect(redactUrl('https://x/y?token=abc')).toBe('https://x/y?token=***')
  })

  it('works inside free text (ffmpeg stderr) and is idempotent', () => {
    const line = "Input #0, rtsp, from 'rtsp://u:s3cret@127.0.0.1:554/a':"
    const red = redactUrl(line)
    expect(red).toBe("Input #0, rtsp, from 'rtsp://***@127.0.0.1:554/a':")
    expect(redactUrl(red)).toBe(red)
    expect(redactUrl('a rtsp://a:b@h/1 and http://c:d@h/2')).toBe('a rtsp://***@h/1 and http://***@h/2')
  })
})

describe('inputArgs', () => {
  it('RTSP: tcp transport and the socket timeout option of this ffmpeg', () => {
    const c = classifyUrl('rtsp://h/x')
    expect(inputArgs(c, { timeoutMs: 5000, rtspTimeoutOption: '-timeout' })).toEqual([
      ...guard('rtsp'),
      '-rtsp_transport',
      'tcp',
      '-timeout',
      '5000000',
      '-i',
      'rtsp://h/x'
    ])
    expect(inputArgs(c, { timeoutMs: 3000, rtspTimeoutOption: '-stimeout' })).toEqual([
      ...guard('rtsp'),
      '-rtsp_transport',
      'tcp',
      '-stimeout',
      '3000000',
      '-i',
      'rtsp://h/x'
    ])
  })

  it('HTTP: reconnect options and rw_timeout', () => {
    const a = inputArgs(classifyUrl('http://h/video.mjpg'), { timeoutMs: 4000 })
    expect(a).toEqual(expect.arrayContaining(['-reconnect', '1', '-reconnect_streamed', '1', '-rw_timeout', '4000000']))
    expect(a.slice(-2)).toEqual(['-i', 'http://h/video.mjpg'])
  })

  it('files: -re, and -stream_loop -1 only when looping', () => {
    const f = classifyUrl('/v/a.mp4')
    expect(inputArgs(f, { loop: false })).toEqual([...guard('file'), '-re', '-i', 'file:/v/a.mp4'])
    expect(inputArgs(f, { loop: true })).toEqual([...guard('file'), '-re', '-stream_loop', '-1', '-i', 'file:/v/a.mp4'])
    expect(inputArgs(f, { realtime: false })).toEqual([...guard('file'), '-i', 'file:/v/a.mp4'])
  })

  it('devices: the right -f', () => {
    expect(inputArgs(classifyUrl('v4l2:/dev/video2'))).toEqual([...guard('v4l2'), '-f', 'v4l2', '-i', '/dev/video2'])
    expect(inputArgs(classifyUrl('dshow:video=Cam'))).toEqual([...guard('dshow'), '-f', 'dshow', '-i', 'video=Cam'])
    expect(inputArgs(classifyUrl('avfoundation:Cam'))).toEqual([
      ...guard('avfoundation'),
      '-f',
      'avfoundation',
      '-framerate',
      '30',
      '-i',
      'Cam:none'
    ])
  })
})

describe('scaling', () => {
  it('keeps aspect, even sides, never upscales', () => {
    expect(scaledSize(640, 360, 480)).toEqual({ width: 480, height: 270 })
    expect(scaledSize(1920, 1080, 640)).toEqual({ width: 640, height: 360 })
    expect(scaledSize(320, 240, 640)).toEqual({ width: 320, height: 240 })
    expect(scaledSize(641, 361, 1000)).toEqual({ width: 640, height: 360 })
    const s = scaledSize(1280, 721, 479)
    expect(s.width % 2).toBe(0)
    expect(s.height % 2).toBe(0)
    expect(scaleFilter(480)).toBe('scale=w=trunc(min(iw\\,480)/2)*2:h=-2')
  })
})
