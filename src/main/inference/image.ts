// Decoding uploads and stored photos to packed RGB, and encoding crops back to JPEG.
import sharp, { type Metadata } from 'sharp'
import { ApiError } from '../../shared/api'
import type { Box } from '../../shared/types'
import type { RgbImage } from '../contracts'

/** Refused before any pixel is decoded: 40 MP is a 7300×5500 photo, far beyond any camera frame. */
export const MAX_PIXELS = 40_000_000

function sharpFailure(err: unknown): ApiError {
  const msg = err instanceof Error ? err.message : String(err)
  if (/pixel limit/i.test(msg)) {
    return new ApiError('too_large', `image is larger than ${MAX_PIXELS / 1e6} megapixels`)
  }
  return new ApiError(
    'bad_image',
    `not a readable image (${msg
      .replace(/^Input /, '')
      .replace(/\s+/g, ' ')
      .trim()})`
  )
}

/** Reads only the header: format and dimensions, with the 40 MP limit enforced. */
export async function probeImage(bytes: Uint8Array): Promise<{ format: string; width: number; height: number }> {
  if (!bytes || bytes.byteLength === 0) throw new ApiError('bad_image', 'not a readable image (the file is empty)')
  let meta: Metadata
  try {
    // The header alone is read here, so no pixel limit is needed yet, and the refusal below can
    // quote the real dimensions; decodeImage sets limitInputPixels as a second guard.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch (err) {
    throw sharpFailure(err)
  }
  const { width, height, format } = meta
  if (!width || !height || !format)
    throw new ApiError('bad_image', 'not a readable image (no dimensions in the header)')
  if (width * height > MAX_PIXELS) {
    throw new ApiError(
      'too_large',
      `image is ${width}×${height} (${((width * height) / 1e6).toFixed(1)} MP); the limit is ${MAX_PIXELS / 1e6} MP`,
      { width, height }
    )
  }
  return { format, width, height }
}

/**
 * Any format sharp reads (JPEG, PNG, WebP, GIF first frame, TIFF, AVIF/HEIF where built in) to
 * packed sRGB, EXIF orientation applied, alpha dropped. Throws ApiError 'too_large' (over 40 MP,
 * refused by libvips from the header before any pixel is decoded) or 'bad_image' (not an image,
 * truncated, corrupt).
 */
export async function decodeImage(bytes: Uint8Array): Promise<RgbImage> {
  if (!bytes || bytes.byteLength === 0) throw new ApiError('bad_image', 'not a readable image (the file is empty)')
  try {
    // One libvips pipeline, no separate header probe: the probe cost a second parse of every
    // photo (~0.2–0.8 ms, measured by npm run bench). limitInputPixels still refuses an oversized
    // image from its header alone. failOn 'error' rather than the default 'warning': phone JPEGs
    // often carry harmless warnings, while truncated or corrupt data still raises an error.
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`)
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height
    }
  } catch (err) {
    const failure = sharpFailure(err)
    // Only on refusal is the header read again, so the message can quote the real dimensions.
    if (failure.code === 'too_large') await probeImage(bytes)
    throw failure
  }
}

/** Clamps a box to the image and rounds it to whole pixels; null when nothing is left. */
export function clampBox(box: Box, width: number, height: number): Box | null {
  const x0 = Math.max(0, Math.floor(box.x))
  const y0 = Math.max(0, Math.floor(box.y))
  const x1 = Math.min(width, Math.ceil(box.x + box.w))
  const y1 = Math.min(height, Math.ceil(box.y + box.h))
  if (x1 <= x0 || y1 <= y0) return null
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
}

/** JPEG of the whole image or of a region (clamped to the image), e.g. an event crop. */
export async function encodeJpeg(
  img: RgbImage,
  opts: { region?: Box; quality?: number; maxWidth?: number } = {}
): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * 3) {
    throw new ApiError('bad_image', `RGB buffer is ${img.data.length} bytes, expected ${img.width * img.height * 3}`)
  }
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
  if (opts.region) {
    const r = clampBox(opts.region, img.width, img.height)
    if (!r) throw new ApiError('invalid_request', 'crop region lies outside the image')
    s = s.extract({ left: r.x, top: r.y, width: r.w, height: r.h })
  }
  if (opts.maxWidth) s = s.resize({ width: opts.maxWidth, withoutEnlargement: true })
  return s.jpeg({ quality: opts.quality ?? 85 }).toBuffer()
}
