// How a camera's stream is decoded: decoder threads, hardware decoding, keyframe-only decoding.
// These are decoder options (they go before -i, after the input's own options); which inputs and
// protocols are allowed at all is url.ts's business, not this file's.
//
// Measured on this 2-core VM (ffmpeg 5.1, software H.264) with the bench's 1080p25 3×3 mosaic,
// decoding 10 s of video through the camera's own filter graph (5 fps RGB for detection + 4 fps
// 480 px MJPEG preview), user+system CPU and peak RSS of the ffmpeg process:
//
// | decoder options                      | CPU per camera | peak RSS | effect on detection                 |
// |--------------------------------------|----------------|----------|-------------------------------------|
// | default (threads auto = 3 on 2 cores)| 0.23–0.25 core | 108 MB   | —                                   |
// | -threads 2                           | 0.23 core      |  98 MB   | none                                |
// | -threads 1  (chosen default)         | 0.22 core      |  89 MB   | none (same pixels)                  |
// | -threads 1 -skip_loop_filter all     | 0.19 core      |  89 MB   | faces 251 → 253 on 20 frames, but   |
// |                                      |                |          | embeddings move: cosine to the      |
// |                                      |                |          | filtered decode mean 0.962, min 0.585 |
// | -threads 1 -skip_frame nokey         | 0.06 core      |  83 MB   | only keyframes (0.5 fps at 2 s GOP) |
// | -hwaccel auto (no GPU here)          | 0.22 core      |  89 MB   | falls back to software by itself    |
//
// So: one decoder thread by default (a 1080p stream decodes in real time on one thread with room
// to spare, and frame threads only add buffers); skip_loop_filter stays off because it changes
// what the recogniser sees; keyframe-only decoding is a per-camera choice for low detect rates
// (it also slows the tile's preview to the keyframe rate); hardware decoding is tried by default
// and falls back to software, first inside ffmpeg and, should a hardware run fail before its first
// frame, by the source retrying without it. The decoder a camera got is shown in its status.

export type HwAccel = 'off' | 'auto' | 'vaapi' | 'qsv' | 'cuda' | 'videotoolbox' | 'd3d11va'

export const HWACCELS: readonly HwAccel[] = ['off', 'auto', 'vaapi', 'qsv', 'cuda', 'videotoolbox', 'd3d11va']

export interface DecodeOptions {
  /** decoder threads; 0 = ffmpeg's choice (default 1, see the table above) */
  threads: number
  hwaccel: HwAccel
  /** decode keyframes only (for detect rates at or below the keyframe rate) */
  keyframesOnly: boolean
  /** skip the H.264 deblocking filter: cheaper, but changes the pixels the recogniser sees */
  skipLoopFilter: boolean
}

export const DEFAULT_DECODE: DecodeOptions = {
  threads: 1,
  hwaccel: 'auto',
  keyframesOnly: false,
  skipLoopFilter: false
}

/** Decoder options for ffmpeg, placed right before `-i` (they apply to the next input). */
export function decodeArgs(o: DecodeOptions): string[] {
  const args: string[] = []
  if (o.hwaccel !== 'off') args.push('-hwaccel', o.hwaccel)
  // a hardware decoder does its own threading; the thread count is for software decoding
  if (o.threads > 0) args.push('-threads', String(Math.floor(o.threads)))
  if (o.keyframesOnly) args.push('-skip_frame', 'nokey')
  if (o.skipLoopFilter) args.push('-skip_loop_filter', 'all')
  return args
}

/**
 * What decoded the stream, from ffmpeg's info-level stderr: "h264 · vaapi", "h264 · software,
 * 1 thread", or null before the input was opened. With -hwaccel auto, ffmpeg 4.3+ says "Using
 * auto hwaccel type X" or "Auto hwaccel disabled: no device found"; a named hwaccel that could not
 * be set up ends the run with "Device setup failed", so a running one is in use.
 */
export function describeDecoder(lines: readonly string[], o: DecodeOptions): string | null {
  let codec: string | null = null
  let hw: string | null = null
  let autoOff = false
  for (const l of lines) {
    if (!codec) {
      const m = /Stream #0:\d+.*?: Video: ([\w-]+)/.exec(l)
      if (m) codec = m[1]!
    }
    const auto = /Using auto hwaccel type (\w+)/.exec(l)
    if (auto) hw = auto[1]!
    if (/Auto hwaccel disabled/.test(l)) autoOff = true
  }
  if (!codec) return null
  const software = `${codec} · software${o.threads > 0 ? `, ${o.threads} thread${o.threads === 1 ? '' : 's'}` : ''}`
  if (o.hwaccel === 'off' || autoOff) return software + (o.keyframesOnly ? ', keyframes only' : '')
  if (o.hwaccel === 'auto') {
    if (hw) return `${codec} · ${hw}` + (o.keyframesOnly ? ', keyframes only' : '')
    // ffmpeg said neither: do not claim hardware we cannot see
    return `${codec} · hwaccel auto (unconfirmed)`
  }
  return `${codec} · ${o.hwaccel}` + (o.keyframesOnly ? ', keyframes only' : '')
}
