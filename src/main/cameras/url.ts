// Pure helpers turning a camera URL into ffmpeg input arguments, and keeping credentials out of
// every log line and UI string.
import { fileURLToPath } from 'node:url'
import { redactUrl } from '../log/redact'

export { redactUrl }

export type SourceKind = 'rtsp' | 'http' | 'file' | 'v4l2' | 'dshow' | 'avfoundation'

export interface ClassifiedUrl {
  kind: SourceKind
  /** what goes after ffmpeg's -i (files: the path as typed; see resolveLocalFile for the checked one) */
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
// Linux video devices only: an arbitrary /dev path (or /dev/../etc/passwd) must not reach -i
const V4L2_DEVICE = /^\/dev\/(video\d{1,3}|v4l\/by-(id|path)\/[\w.:+-]+)$/
// Screen grabbers present themselves as capture devices (dshow "screen-capture-recorder",
// avfoundation "Capture screen 0"): a camera URL must never show the operator's desktop
const SCREEN_DEVICE = /screen|desktop|display|monitor|gdigrab|x11grab/i

/**
 * Classifies a camera URL. Accepts rtsp://, rtsps://, http://, https://, file://, absolute paths
 * (POSIX or Windows drive), v4l2:/dev/videoN, dshow:video=<name>, avfoundation:<name>.
 * Throws CameraUrlError with a reason (never echoing credentials) for anything else. Whether a
 * local file may be read is decided separately (resolveLocalFile), against the allowed folders.
 */
export function classifyUrl(raw: string): ClassifiedUrl {
  const url = raw.trim()
  if (!url) throw new CameraUrlError('camera URL is empty')
  // control characters would reach ffmpeg's own URL parser and the logs unchanged
  if (hasControlChars(url)) throw new CameraUrlError('camera URL contains control characters')
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
      throw new CameraUrlError(`invalid file URL: ${redactUrl((e as Error).message)}`)
    }
    return { kind: 'file', input: path, secure: false, mjpeg: false, live: false }
  }
  if (scheme === 'v4l2') {
    const dev = url.slice('v4l2:'.length).replace(/^\/\/(?=\/)/, '')
    if (!V4L2_DEVICE.test(dev)) throw new CameraUrlError('v4l2 device must look like v4l2:/dev/video0')
    return { kind: 'v4l2', input: dev, secure: false, mjpeg: false, live: true }
  }
  if (scheme === 'dshow') {
    const dev = url.slice('dshow:'.length)
    // only a video device: "video=A:audio=B" would also open a microphone, "video=A:video=B" is not a camera
    if (!/^video=[^:]+$/.test(dev))
      throw new CameraUrlError('DirectShow device must look like dshow:video=<device name>')
    if (SCREEN_DEVICE.test(dev)) throw new CameraUrlError('screen-capture devices are not cameras and are refused')
    return { kind: 'dshow', input: dev, secure: false, mjpeg: false, live: true }
  }
  if (scheme === 'avfoundation') {
    const dev = url.slice('avfoundation:'.length)
    if (!dev) throw new CameraUrlError('AVFoundation device must look like avfoundation:<camera name>')
    // indexes are refused: screens are listed as capture devices after the cameras, so "1" (or "0"
    // on a Mac without a camera) can be the desktop
    if (/^\d+$/.test(dev) || dev.includes(':'))
      throw new CameraUrlError(
        'AVFoundation cameras are given by name (avfoundation:FaceTime HD Camera), not by index: an index can be a screen'
      )
    if (SCREEN_DEVICE.test(dev)) throw new CameraUrlError('screen-capture devices are not cameras and are refused')
    return { kind: 'avfoundation', input: dev, secure: false, mjpeg: false, live: true }
  }
  // Windows drive paths parse as a one-letter scheme: check them before rejecting unknown schemes
  if (url.startsWith('/') || /^[a-z]:[\\/]/i.test(url)) {
    return { kind: 'file', input: url, secure: false, mjpeg: false, live: false }
  }
  if (url.startsWith('\\\\')) throw new CameraUrlError('network share paths are not accepted; copy the file locally')
  if (scheme)
    throw new CameraUrlError(
      `unsupported URL scheme "${scheme}:" (use rtsp, rtsps, http, https, file, v4l2, dshow or avfoundation)`
    )
  throw new CameraUrlError(
    'camera URL must be an absolute file path or have a scheme (rtsp://, http://, file://, v4l2:, …)'
  )
}

function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return true
  }
  return false
}

function requireHost(url: string): void {
  let host: string
  try {
    host = new URL(url).hostname
  } catch {
    // the URL is not echoed at all: a password with '#', '?' or '/' is where parsing failed
    throw new CameraUrlError(
      'malformed URL (characters such as # ? / @ or spaces in a user name or password must be percent-encoded)'
    )
  }
  if (!host) throw new CameraUrlError('URL has no host')
}

// ---- secrets ---------------------------------------------------------------------------------

/**
 * The console only ever sees redacted URLs. When one comes back in an edit, the stored secrets
 * are put back where the edit kept "***" — but only for the same host: an edit pointing the URL
 * at another host must not send the stored password there.
 */
export function restoreSecrets(edited: string, stored: string): string {
  if (edited === redactUrl(stored)) return stored
  if (!edited.includes('***')) return edited
  const e = splitUrl(edited)
  const s = splitUrl(stored)
  if (
    !e ||
    !s ||
    e.scheme.toLowerCase() !== s.scheme.toLowerCase() ||
    e.hostPort.toLowerCase() !== s.hostPort.toLowerCase()
  )
    return edited
  const userinfo = e.userinfo === '***' ? s.userinfo : e.userinfo
  const storedQuery = new Map<string, string>()
  for (const part of s.query?.split('&') ?? []) {
    const eq = part.indexOf('=')
    if (eq > 0) storedQuery.set(part.slice(0, eq), part.slice(eq + 1))
  }
  const query = e.query
    ?.split('&')
    .map((part) => {
      const eq = part.indexOf('=')
      if (eq <= 0 || part.slice(eq + 1) !== '***') return part
      const old = storedQuery.get(part.slice(0, eq))
      return old === undefined ? part : `${part.slice(0, eq)}=${old}`
    })
    .join('&')
  return `${e.scheme}://${userinfo !== null ? `${userinfo}@` : ''}${e.hostPort}${e.path}${query !== null && query !== undefined ? `?${query}` : ''}`
}

interface UrlParts {
  scheme: string
  userinfo: string | null
  hostPort: string
  path: string
  query: string | null
}

/** Splits at the LAST '@' (as redactUrl does) so stored passwords with odd characters round-trip. */
function splitUrl(u: string): UrlParts | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(u.trim())
  if (!m) return null
  let rest = m[2] ?? ''
  let userinfo: string | null = null
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    userinfo = rest.slice(0, at)
    rest = rest.slice(at + 1)
  }
  const hash = rest.indexOf('#')
  if (hash >= 0) rest = rest.slice(0, hash)
  const q = rest.indexOf('?')
  const query = q >= 0 ? rest.slice(q + 1) : null
  if (q >= 0) rest = rest.slice(0, q)
  const slash = rest.indexOf('/')
  return {
    scheme: m[1] ?? '',
    userinfo,
    hostPort: slash >= 0 ? rest.slice(0, slash) : rest,
    path: slash >= 0 ? rest.slice(slash) : '',
    query
  }
}

// ---- what ffmpeg may open ----------------------------------------------------------------------

/**
 * Protocols ffmpeg may open for each kind, nested opens included (an HLS playlist's segments, an
 * RTSP session's RTP/TCP sockets). "file", "concat", "subfile", "data" and friends are never on a
 * network list, so a playlist cannot pull a local file into the preview.
 */
export const PROTOCOL_WHITELIST: Record<SourceKind, string> = {
  rtsp: 'rtsp,rtsps,rtp,srtp,tcp,udp,tls',
  http: 'http,https,tcp,tls,crypto',
  file: 'file',
  v4l2: 'file',
  dshow: 'file',
  avfoundation: 'file'
}

// Container/stream demuxers a camera or a recorded clip actually uses. Left out on purpose: tty
// (renders any text file as video), the text-subtitle demuxers, image2 / *_pipe image sequences,
// concat, and the playlists that point at other URLs (except HLS over HTTP, whose nested opens stay
// within the HTTP protocol list above).
const VIDEO_DEMUXERS =
  'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,mpegtsraw,avi,flv,h264,hevc,mjpeg,mpjpeg,mpeg,asf,rawvideo'
export const FORMAT_WHITELIST: Record<SourceKind, string> = {
  rtsp: 'rtsp,sdp,rtp',
  http: `${VIDEO_DEMUXERS},hls`,
  file: VIDEO_DEMUXERS,
  v4l2: 'video4linux2,v4l2',
  dshow: 'dshow',
  avfoundation: 'avfoundation'
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

/** ffmpeg arguments up to and including `-i <input>`, always with the protocol and format whitelists. */
export function inputArgs(c: ClassifiedUrl, opts: InputArgOptions = {}): string[] {
  const timeoutUs = String(Math.round((opts.timeoutMs ?? 5000) * 1000))
  const guard = ['-protocol_whitelist', PROTOCOL_WHITELIST[c.kind], '-format_whitelist', FORMAT_WHITELIST[c.kind]]
  switch (c.kind) {
    case 'rtsp':
      // TCP: UDP loses packets behind NAT/VPN and smears frames; a camera feed is low bitrate anyway
      return [...guard, '-rtsp_transport', 'tcp', opts.rtspTimeoutOption ?? '-timeout', timeoutUs, '-i', c.input]
    case 'http':
      return [
        ...guard,
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
      // "file:" prefix: a path containing ':' must not be read as another protocol's URL
      return [
        ...guard,
        ...(opts.realtime === false ? [] : ['-re']),
        ...(opts.loop ? ['-stream_loop', '-1'] : []),
        '-i',
        c.input.startsWith('file:') ? c.input : `file:${c.input}`
      ]
    case 'v4l2':
      return [...guard, '-f', 'v4l2', '-i', c.input]
    case 'dshow':
      return [...guard, '-f', 'dshow', '-i', c.input]
    case 'avfoundation':
      // avfoundation refuses the default 29.97 on most webcams; 30 is universally offered
      return [...guard, '-f', 'avfoundation', '-framerate', '30', '-i', `${c.input}:none`]
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
