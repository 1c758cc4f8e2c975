// Previews travel as binary WebSocket frames, not base64 inside JSON: base64 is a third bigger,
// costs an encode in the engine and a decode in the page for every frame of every camera, and a
// data: URL string per frame churns the page's heap. Frame layout:
//   bytes 0–3  "VGP1" (magic + version)
//   bytes 4–7  header length n, uint32 little-endian
//   bytes 8–   n bytes of UTF-8 JSON {channel:"camera.preview", cameraId, at}
//   then       the JPEG bytes
// Plain TypeScript with Uint8Array/DataView: shared by the engine (Node) and the page.
import type { PreviewFrame, VideoFrame } from './types'

const MAGIC = [0x56, 0x47, 0x50, 0x31] // "VGP1"
const MAX_HEADER = 4096

export function encodePreviewFrame(p: PreviewFrame): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ channel: 'camera.preview', cameraId: p.cameraId, at: p.at }))
  const out = new Uint8Array(8 + header.length + p.jpeg.length)
  out.set(MAGIC, 0)
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, header.length, true)
  out.set(header, 8)
  out.set(p.jpeg, 8 + header.length)
  return out
}

/** The preview in a binary frame, or null when the frame is not one (wrong magic, bad header). */
export function decodePreviewFrame(buf: Uint8Array): PreviewFrame | null {
  if (buf.length < 8 || MAGIC.some((b, i) => buf[i] !== b)) return null
  const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true)
  if (n > MAX_HEADER || 8 + n > buf.length) return null
  let h: unknown
  try {
    h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)))
  } catch {
    return null
  }
  if (typeof h !== 'object' || h === null) return null
  const { channel, cameraId, at } = h as Record<string, unknown>
  if (channel !== 'camera.preview' || typeof cameraId !== 'string' || typeof at !== 'number') return null
  return { cameraId, at, jpeg: buf.subarray(8 + n) }
}

// Live video of a focused tile uses the same layout with magic "VGV1" and header
// {channel:"camera.video", cameraId, mime, seq}; the body is init segment + one fMP4 fragment.
const VIDEO_MAGIC = [0x56, 0x47, 0x56, 0x31] // "VGV1"

export function encodeVideoFrame(v: VideoFrame): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ channel: 'camera.video', cameraId: v.cameraId, mime: v.mime, seq: v.seq })
  )
  const out = new Uint8Array(8 + header.length + v.data.length)
  out.set(VIDEO_MAGIC, 0)
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, header.length, true)
  out.set(header, 8)
  out.set(v.data, 8 + header.length)
  return out
}

export function decodeVideoFrame(buf: Uint8Array): VideoFrame | null {
  if (buf.length < 8 || VIDEO_MAGIC.some((b, i) => buf[i] !== b)) return null
  const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true)
  if (n > MAX_HEADER || 8 + n > buf.length) return null
  let h: unknown
  try {
    h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)))
  } catch {
    return null
  }
  if (typeof h !== 'object' || h === null) return null
  const { channel, cameraId, mime, seq } = h as Record<string, unknown>
  if (channel !== 'camera.video' || typeof cameraId !== 'string' || typeof mime !== 'string' || typeof seq !== 'number')
    return null
  return { cameraId, mime, seq, data: buf.subarray(8 + n) }
}

/**
 * Offset of the first top-level `moof` box in init + fragment bytes (the init segment's length),
 * or 0 when there is none. An init segment must be appended to MSE only once: each append makes
 * the player drop frames until the next keyframe.
 */
export function fragmentOffset(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let o = 0
  while (o + 8 <= data.length) {
    const size = view.getUint32(o)
    const type = String.fromCharCode(data[o + 4]!, data[o + 5]!, data[o + 6]!, data[o + 7]!)
    if (type === 'moof') return o
    if (size < 8) return 0
    o += size
  }
  return 0
}
