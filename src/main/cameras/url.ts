// Pure helpers turning a camera URL into ffmpeg input arguments, and keeping credentials out of
// every log line and UI string.
import { fileURLToPath } from 'node:url'
import { redactUrl } from '../log/redact'

export { redactUrl }

export type SourceKind = 'rtsp' | 'http' | 'file' | 'v4l2' | 'dshow' | 'avfoundation'

export interface ClassifiedUrl {
  kind: SourceKind
  /** what goes after ffmpeg's -i */
  input: string
  /** rtsps / https */
  secure: boolean
  /** http(s) URL that looks like a multipart MJPEG stream (…/video.mjpg, ?action=stream, …) */
  mjpeg: boolean
  /** live sources never end by themselves; files do */
  live: boolean
}

export class CameraUrlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CameraUrlError'
  }
}

const MJPEG_HINT = /mjpe?g|[?&]action=stream|faststream|videostream/i

/**
 * Classifies a camera URL. Accepts rtsp://, rtsps://, http://, https://, file://, absolute paths
 * (POSIX or Windows drive), v4l2:/dev/videoN, dshow:video=<name>, avfoundation:<index or name>.
 * Throws CameraUrlError with a reason (never echoing credentials) for anything else.
 */
export function classifyUrl(raw: string): ClassifiedUrl {
  const url = raw.trim()
  if (!url) throw new CameraUrlError('camera URL is empty')
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase()

  if (scheme === 'rtsp' || scheme === 'rtsps') {
    requireHost(url)
    return { kind: 'rtsp', input: url, secure: scheme === 'rtsps', mjpeg: false, live: true }
  }
  if (scheme === 'http' || scheme === 'https') {
    requireHost(url)
    return { kind: 'http', input: url, secure: scheme === 'https', mjpeg: MJPEG_HINT.test(url), live: true }
  }
  if (scheme === 'file') {
    let path: string
    try {
      path = fileURLToPath(url)
    } catch (e) {
      throw new CameraUrlError(`invalid file URL: ${(e as Error).message}`)
    }
    return { kind: 'file', input: path, secure: false, mjpeg: false, live: false }
  }
  if (scheme === 'v4l2') {
    const dev = url.slice('v4l2:'.length).replace(/^\/\/(?=\/)/, '')
    if (!/^\/dev\/\S+$/.test(dev)) throw new CameraUrlError('v4l2 device must look like v4l2:/dev/video0')
    return { kind: 'v4l2', input: dev, secure: false, mjpeg: false, live: true }
  }
  if (scheme === 'dshow') {
    const dev = url.slice('dshow:'.length)
    if (!/^video=.+/.test(dev)) throw new CameraUrlError('DirectShow device must look like dshow:video=<device name>')
    return { kind: 'dshow', input: dev, secure: false, mjpeg: false, live: true }
  }
  if (scheme === 'avfoundation') {
    const dev = url.slice('avfoundation:'.length)
    if (!dev) throw new CameraUrlError('AVFoundation device must look like avfoundation:0')
    return { kind: 'avfoundation', input: dev, secure: false, mjpeg: false, live: true }
  }
  // Windows drive paths parse as a one-letter scheme: check them before rejecting unknown schemes
  if (url.startsWith('/') || /^[a-z]:[\\/]/i.test(url) || url.startsWith('\\\\')) {
    return { kind: 'file', input: url, secure: false, mjpeg: false, live: false }
  }
  if (scheme)
    throw new CameraUrlError(
      `unsupported URL scheme "${scheme}:" (use rtsp, rtsps, http, https, file, v4l2, dshow or avfoundation)`
    )
  throw new CameraUrlError(
    'camera URL must be an absolute file path or have a scheme (rtsp://, http://, file://, v4l2:, …)'
  )
}

function requireHost(url: string): void {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    throw new CameraUrlError(`malformed URL: ${redactUrl(url)}`)
  }
  if (!host) throw new CameraUrlError(`URL has no host: ${redactUrl(url)}`)
}

export interface InputArgOptions {
  /** local files: restart at the end */
  loop?: boolean
  /** socket I/O timeout for network sources, ms (default 5000) */
  timeoutMs?: number
  /** from FfmpegInfo: ffmpeg ≥ 5 uses -timeout, older builds -stimeout (where -timeout means "listen") */
  rtspTimeoutOption?: '-timeout' | '-stimeout'
  /** play files at their native rate (default true); camera tests read as fast as possible */
  realtime?: boolean
}

/** ffmpeg arguments up to and including `-i <input>`. */
export function inputArgs(c: ClassifiedUrl, opts: InputArgOptions = {}): string[] {
  const timeoutUs = String(Math.round((opts.timeoutMs ?? 5000) * 1000))
  switch (c.kind) {
    case 'rtsp':
      // TCP: UDP loses packets behind NAT/VPN and smears frames; a camera feed is low bitrate anyway
      return ['-rtsp_transport', 'tcp', opts.rtspTimeoutOption ?? '-timeout', timeoutUs, '-i', c.input]
    case 'http':
      return [
        '-reconnect',
        '1',
        '-reconnect_streamed',
        '1',
        '-reconnect_delay_max',
        '5',
        '-rw_timeout',
        timeoutUs,
        // no forced -f mpjpeg for MJPEG-looking URLs: ffmpeg recognises multipart from the content,
        // and a wrong guess (a snapshot URL, an HLS playlist) would fail instead of being probed
        '-i',
        c.input
      ]
    case 'file':
      return [...(opts.realtime === false ? [] : ['-re']), ...(opts.loop ? ['-stream_loop', '-1'] : []), '-i', c.input]
    case 'v4l2':
      return ['-f', 'v4l2', '-i', c.input]
    case 'dshow':
      return ['-f', 'dshow', '-i', c.input]
    case 'avfoundation':
      // avfoundation refuses the default 29.97 on most webcams; 30 is universally offered
      return ['-f', 'avfoundation', '-framerate', '30', '-i', c.input]
  }
}

/** Even width ≤ maxWidth, aspect kept (height -2 = even and proportional); never upscales. */
export function scaleFilter(maxWidth: number): string {
  const w = Math.max(2, Math.floor(maxWidth / 2) * 2)
  return `scale=w=trunc(min(iw\\,${w})/2)*2:h=-2`
}

/** Detection-frame size ffmpeg's scaleFilter produces for a given source size (for tests and planning). */
export function scaledSize(srcW: number, srcH: number, maxWidth: number): { width: number; height: number } {
  const w = Math.floor(Math.min(srcW, Math.max(2, Math.floor(maxWidth / 2) * 2)) / 2) * 2
  // ffmpeg's -2: round(h * w / iw) to the nearest multiple of 2
  const h = Math.max(2, Math.round((srcH * w) / srcW / 2) * 2)
  return { width: w, height: h }
}
