import { describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { ApiError } from '../../src/shared/api'
import { clampBox, decodeImage, encodeJpeg, MAX_PIXELS, probeImage } from '../../src/main/inference/image'
import {
  cropResizeGrey,
  extractDownscaled,
  resizeArea,
  resizeBilinear,
  rgbToGrey
} from '../../src/main/inference/resize'

function crc32(buf: Uint8Array): number {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}

/**
 * A real 8×8 PNG whose header is patched to claim width×height: the header is valid, the pixel
 * data is not, so only a check made BEFORE decoding can answer too_large.
 */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const b = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer()
  )
  b.writeUInt32BE(width, 16)
  b.writeUInt32BE(height, 20)
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29)
  return b
}

async function rejects(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ApiError)
  expect((err as ApiError).code).toBe(code)
  expect((err as ApiError).message).toMatch(msg)
}

describe('decodeImage', () => {
  it('decodes PNG and greyscale to packed RGB', async () => {
    const png = await sharp({
      create: { width: 7, height: 5, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } }
    })
      .png()
      .toBuffer()
    const img = await decodeImage(png)
    expect([img.width, img.height, img.data.length]).toEqual([7, 5, 105])
    expect(Array.from(img.data.subarray(0, 3))).toEqual([10, 20, 30])
    const grey = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .greyscale()
      .png()
      .toBuffer()
    const g = await decodeImage(grey)
    expect(g.data.length).toBe(48)
    expect(Array.from(g.data.subarray(0, 3))).toEqual([90, 90, 90])
  })
  it('applies EXIF orientation', async () => {
    // 40×20, left half red, right half blue, tagged "rotate 90° clockwise to display".
    const raw = new Uint8Array(40 * 20 * 3)
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3)
    const jpg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const img = await decodeImage(jpg)
    expect([img.width, img.height]).toEqual([20, 40])
    // After the rotation the former left (red) half is on top.
    expect(img.data[(2 * 20 + 10) * 3]).toBeGreaterThan(200)
    expect(img.data[(37 * 20 + 10) * 3 + 2]).toBeGreaterThan(200)
  })
  it('refuses non-images, empty and truncated files as bad_image', async () => {
    await rejects(
      decodeImage(Buffer.from('definitely not an image, just some text')),
      'bad_image',
      /not a readable image/
    )
    await rejects(decodeImage(new Uint8Array(0)), 'bad_image', /empty/)
    const jpg = await sharp({
      create: {
        width: 64,
        height: 64,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 }
      }
    })
      .jpeg()
      .toBuffer()
    await rejects(decodeImage(jpg.subarray(0, jpg.length >> 1)), 'bad_image', /not a readable image/)
  })
  it('refuses more than 40 MP from the header alone, before decoding pixels', async () => {
    // The file has no pixel data at all: only a header check can answer too_large.
    const fake = await pngClaiming(8000, 6000)
    await rejects(probeImage(fake), 'too_large', /8000×6000.*40 MP/)
    await rejects(decodeImage(fake), 'too_large', /48\.0 MP/)
    expect(MAX_PIXELS).toBe(40_000_000)
    // Just under the limit the header passes (and decoding then fails on the missing pixels).
    await rejects(decodeImage(await pngClaiming(8000, 5000)), 'bad_image', /not a readable image/)
  })
})

describe('encodeJpeg', () => {
  const img = { data: new Uint8Array(30 * 20 * 3).fill(200), width: 30, height: 20 }
  it('encodes the whole image or a clamped region', async () => {
    const whole = await sharp(await encodeJpeg(img)).metadata()
    expect([whole.format, whole.width, whole.height]).toEqual(['jpeg', 30, 20])
    const part = await sharp(await encodeJpeg(img, { region: { x: 20, y: -5, w: 50, h: 10 } })).metadata()
    expect([part.width, part.height]).toEqual([10, 5])
  })
  it('refuses a region outside the image and a wrong-sized buffer', async () => {
    await rejects(encodeJpeg(img, { region: { x: 40, y: 0, w: 5, h: 5 } }), 'invalid_request', /outside/)
    await rejects(encodeJpeg({ ...img, width: 31 }), 'bad_image', /expected/)
  })
  it('clampBox rounds outwards and clips', () => {
    expect(clampBox({ x: -2.5, y: 1.2, w: 10, h: 3.5 }, 6, 4)).toEqual({ x: 0, y: 1, w: 6, h: 3 })
    expect(clampBox({ x: 10, y: 0, w: 3, h: 3 }, 6, 4)).toBeNull()
  })
})

describe('resize', () => {
  const gradient = (w: number, h: number) => {
    const data = new Uint8Array(w * h * 3)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 4, y * 4, 50], (y * w + x) * 3)
    return { data, width: w, height: h }
  }
  it('bilinear keeps size-preserving resizes exact and interpolates gradients', () => {
    const g = gradient(16, 8)
    expect(resizeBilinear(g, 16, 8).data).toEqual(g.data)
    const half = resizeBilinear(g, 8, 4)
    // output pixel 0 samples between source 0 and 1 → x*4 = 2
    expect(half.data[0]).toBe(2)
  })
  it('area averages whole blocks', () => {
    const data = new Uint8Array(4 * 2 * 3)
    data.set([0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40], 0)
    data.set([0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40], 12)
    const out = resizeArea({ data, width: 4, height: 2 }, 2, 1)
    expect(Array.from(out.data)).toEqual([50, 50, 50, 120, 120, 120])
  })
  it('grey crop reads outside the image as black and matches luma inside', () => {
    const img = { data: new Uint8Array(4 * 4 * 3).fill(100), width: 4, height: 4 }
    const grey = rgbToGrey(img)
    expect(grey.data[0]).toBe(100)
    const c = cropResizeGrey(img, { x: -4, y: 0, w: 8, h: 4 }, 8, 4)
    expect(c.data[0]).toBe(0)
    expect(c.data[7]).toBe(100)
  })
  it('integer box downscale of a region', () => {
    const g = gradient(8, 8)
    const s = extractDownscaled(g, { x: 2, y: 2, w: 4, h: 4 }, 2)
    expect([s.width, s.height]).toEqual([2, 2])
    // mean of x in {2,3} → 2.5*4 = 10
    expect(s.data[0]).toBe(10)
  })
})
