// Reading ffmpeg's stderr: stream geometry (ffprobe is not shipped by @ffmpeg-installer) and a
// human reason when a camera fails. Every line is redacted before it is kept anywhere.
import { redactUrl, type SourceKind } from './url'

export interface Size {
  width: number
  height: number
}

/** "  Stream #0:0[0x1](und): Video: h264 (…), yuv420p(tv, bt709), 640x360 [SAR 1:1 DAR 16:9], …" */
export function parseVideoStreamSize(line: string): Size | null {
  if (!/Stream #\d+:\d+.*: Video:/.test(line)) return null
  const after = line.slice(line.indexOf(': Video:'))
  // the size is the first ", WxH" after the codec; hex fourccs like 0x31637661 never follow ", "
  const m = /, (\d{1,5})x(\d{1,5})(?=[\s,[]|$)/.exec(after)
  if (!m) return null
  const width = Number(m[1])
  const height = Number(m[2])
  return width > 0 && height > 0 ? { width, height } : null
}

/** Display rotation in degrees from "displaymatrix: rotation of -90.00 degrees", or null. */
export function parseRotation(line: string): number | null {
  const m = /rotation of (-?\d+(?:\.\d+)?) degrees/.exec(line)
  return m ? Number(m[1]) : null
}

interface ReasonRule {
  test: RegExp
  reason: string
}

// Ordered: the most specific cause wins when ffmpeg prints several (e.g. "moov atom not found"
// followed by "Invalid data found").
const RULES: ReasonRule[] = [
  {
    test: /401 Unauthorized|Unauthorized|authorization failed|authentication failed/i,
    reason: 'authentication failed'
  },
  { test: /403 Forbidden|Forbidden|access denied/i, reason: 'access forbidden' },
  // case-sensitive: "moov atom not found" is a broken file, not a missing one
  {
    test: /HTTP error 404|404 Not Found|Server returned 404|No such file or directory|Stream not found|does not exist/,
    reason: 'not found'
  },
  { test: /Connection refused/i, reason: 'connection refused' },
  {
    test: /Failed to resolve hostname|Name or service not known|nodename nor servname|No address associated|Temporary failure in name resolution/i,
    reason: 'host not found'
  },
  { test: /Network is unreachable|No route to host|Host is unreachable/i, reason: 'host unreachable' },
  { test: /timed out|\btimeout\b(?!=)/i, reason: 'timeout' },
  { test: /Permission denied/i, reason: 'permission denied' },
  { test: /Device or resource busy/i, reason: 'device busy' },
  {
    test: /Protocol not found|Unknown input format|Protocol not on whitelist/i,
    reason: 'unsupported protocol or format'
  },
  {
    test: /Invalid data found when processing input|moov atom not found|could not find codec parameters/i,
    reason: 'not a video stream'
  },
  { test: /matches no streams|does not contain any stream|no video stream/i, reason: 'no video stream' },
  { test: /Connection reset by peer|Broken pipe|End of file|Input\/output error/i, reason: 'connection lost' }
]

/** A short human reason for a failure, from the last lines of ffmpeg's stderr. */
export function reasonFromStderr(all: readonly string[]): string | null {
  // stream/metadata description lines carry numbers ("401 kb/s") and titles that are not errors
  const lines = all.filter((l) => !/^\s+(Stream #|Metadata:|Duration:|Side data:|[\w ]+?\s+: )/.test(l))
  for (const rule of RULES) {
    if (lines.some((l) => rule.test.test(l))) return rule.reason
  }
  // unknown failure: the last line that looks like an error, redacted and short, beats nothing
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]
    if (l && /error|fail|invalid|cannot|unable/i.test(l))
      return redactUrl(l.replace(/^\[[^\]]+\]\s*/, '')).slice(0, 160)
  }
  return null
}

/** What a network probe says when nothing answered as a camera, whatever the socket did. */
export const NO_CAMERA = 'not a video stream (no camera answered at this address)'

// Reasons that tell a user something about their camera. Everything else a network source can
// produce (refused, reset, unreachable, garbage from another service, an unknown error line)
// distinguishes a closed port from an open one on hosts that are not cameras, which would make
// "test camera" a port scanner for whoever can reach the console; those all become NO_CAMERA.
const NETWORK_KEEP = new Set(['authentication failed', 'access forbidden', 'not found', 'timeout', 'host not found'])

/** The reason shown to users for a failed source (status reason, cameras.test error). */
export function publicReason(reason: string, kind: SourceKind): string {
  if (kind !== 'rtsp' && kind !== 'http') return redactUrl(reason)
  return NETWORK_KEEP.has(reason) ? reason : NO_CAMERA
}

/**
 * Incremental stderr reader: splits chunks into lines (ffmpeg ends progress lines with \r),
 * keeps the last `keep` lines (redacted), and remembers the video size of the first input and
 * of each output section.
 */
export class StderrReader {
  private partial = ''
  private section: { kind: 'input' | 'output'; index: number } | null = null
  private readonly tail: string[] = []
  inputSize: Size | null = null
  inputRotation = 0
  readonly outputSizes = new Map<number, Size>()

  constructor(private readonly keep = 40) {}

  /** Feeds a chunk; returns the complete lines it produced (already redacted). */
  push(chunk: string): string[] {
    const text = this.partial + chunk
    const parts = text.split(/\r\n|\r|\n/)
    this.partial = parts.pop() ?? ''
    // a pathological line without terminator must not grow without bound
    if (this.partial.length > 8192) this.partial = this.partial.slice(-8192)
    const out: string[] = []
    for (const raw of parts) {
      const line = redactUrl(raw)
      if (!line.trim()) continue
      this.observe(line)
      out.push(line)
      this.tail.push(line)
      if (this.tail.length > this.keep) this.tail.shift()
    }
    return out
  }

  /** Flushes an unterminated last line (at process exit). */
  end(): string[] {
    const rest = this.partial
    this.partial = ''
    return rest ? this.push(`${rest}\n`) : []
  }

  lines(): readonly string[] {
    return this.tail
  }

  private observe(line: string): void {
    const sec = /^(Input|Output) #(\d+)/.exec(line)
    if (sec) {
      this.section = { kind: sec[1] === 'Input' ? 'input' : 'output', index: Number(sec[2]) }
      return
    }
    if (!this.section) return
    const size = parseVideoStreamSize(line)
    if (size) {
      if (this.section.kind === 'input' && this.section.index === 0 && !this.inputSize) this.inputSize = size
      if (this.section.kind === 'output' && !this.outputSizes.has(this.section.index))
        this.outputSizes.set(this.section.index, size)
      return
    }
    const rot = this.section.kind === 'input' ? parseRotation(line) : null
    if (rot !== null) this.inputRotation = rot
  }
}
