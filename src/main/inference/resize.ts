// Resampling in plain TypeScript so raw camera frames never round-trip through an encoder.
import type { RgbImage } from '../contracts'
import { resizeBilinearToChwSimd } from './simd-resize'

/** Grey image, one byte per pixel. */
export interface GreyImage {
  data: Uint8Array
  width: number
  height: number
}

/** ITU-R BT.601 luma, what OpenCV's RGB2GRAY produces (the landmark model was trained on it). */
export function rgbToGrey(img: RgbImage): GreyImage {
  const n = img.width * img.height
  const out = new Uint8Array(n)
  const d = img.data
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = 0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2] + 0.5
  return { data: out, width: img.width, height: img.height }
}

/** Per output column: the two source byte offsets and the weight of the right one (half-pixel centres). */
function bilinearColumns(W: number, width: number, sx: number): { xi0: Int32Array; xi1: Int32Array; xf: Float32Array } {
  const xi0 = new Int32Array(width)
  const xi1 = new Int32Array(width)
  const xf = new Float32Array(width)
  for (let u = 0; u < width; u++) {
    const x = Math.min(Math.max((u + 0.5) * sx - 0.5, 0), W - 1)
    const x0 = Math.floor(x)
    xi0[u] = x0 * 3
    xi1[u] = Math.min(x0 + 1, W - 1) * 3
    xf[u] = x - x0
  }
  return { xi0, xi1, xf }
}

/**
 * Bilinear resize with half-pixel centres (OpenCV INTER_LINEAR convention). Fine for
 * upscaling and mild downscaling; aliases when shrinking by more than ~2×.
 */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  const { data, width: W, height: H } = img
  const out = new Uint8Array(width * height * 3)
  const sx = W / width
  const sy = H / height
  const { xi0, xi1, xf } = bilinearColumns(W, width, sx)
  for (let v = 0; v < height; v++) {
    const y = Math.min(Math.max((v + 0.5) * sy - 0.5, 0), H - 1)
    const y0 = Math.floor(y)
    const fy = y - y0
    const r0 = y0 * W * 3
    const r1 = Math.min(y0 + 1, H - 1) * W * 3
    let o = v * width * 3
    for (let u = 0; u < width; u++) {
      const fx = xf[u]
      const a = r0 + xi0[u]
      const b = r0 + xi1[u]
      const c = r1 + xi0[u]
      const d = r1 + xi1[u]
      for (let ch = 0; ch < 3; ch++, o++) {
        const top = data[a + ch] + (data[b + ch] - data[a + ch]) * fx
        const bot = data[c + ch] + (data[d + ch] - data[c + ch]) * fx
        out[o] = top + (bot - top) * fy + 0.5
      }
    }
  }
  return { data: out, width, height }
}

/**
 * Area (box-filter) downscale: each output pixel averages the source pixels whose centres fall
 * in its footprint. Costs one pass over the source, so a 1080p frame is cheap, and it does not
 * alias small faces away the way point sampling does.
 */
export function resizeArea(img: RgbImage, width: number, height: number): RgbImage {
  const { data, width: W, height: H } = img
  const out = new Uint8Array(width * height * 3)
  const xs = new Int32Array(width + 1)
  for (let u = 0; u <= width; u++) xs[u] = Math.min(W, Math.round((u * W) / width))
  // Integer sums: a 40 MP image shrunk to 320×240 sums ~520 pixels per output, far from 2^32/255.
  const acc = new Uint32Array(width * 3)
  for (let v = 0; v < height; v++) {
    const y0 = Math.min(H - 1, Math.round((v * H) / height))
    const y1 = Math.max(y0 + 1, Math.min(H, Math.round(((v + 1) * H) / height)))
    acc.fill(0)
    for (let y = y0; y < y1; y++) {
      const row = y * W * 3
      for (let u = 0; u < width; u++) {
        const xa = Math.min(xs[u], W - 1)
        const xb = Math.max(xa + 1, xs[u + 1])
        let r = 0
        let g = 0
        let b = 0
        for (let x = xa, p = row + xa * 3; x < xb; x++, p += 3) {
          r += data[p]
          g += data[p + 1]
          b += data[p + 2]
        }
        acc[u * 3] += r
        acc[u * 3 + 1] += g
        acc[u * 3 + 2] += b
      }
    }
    const o = v * width * 3
    const rows = y1 - y0
    for (let u = 0; u < width; u++) {
      const xa = Math.min(xs[u], W - 1)
      const k = 1 / (Math.max(xa + 1, xs[u + 1]) - xa) / rows
      out[o + u * 3] = acc[u * 3] * k + 0.5
      out[o + u * 3 + 1] = acc[u * 3 + 1] * k + 0.5
      out[o + u * 3 + 2] = acc[u * 3 + 2] * k + 0.5
    }
  }
  return { data: out, width, height }
}

/** Picks area averaging when shrinking by 2× or more on either axis, bilinear otherwise. */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  if (img.width === width && img.height === height) return img
  if (img.width >= 2 * width && img.height >= 2 * height) return resizeArea(img, width, height)
  return resizeBilinear(img, width, height)
}

let greyBuffer = new Float64Array(0)

/**
 * Scratch for cropResizeGrey's luma region, reused across calls (the function is synchronous, so
 * never shared): a fresh ~160 kB array per face was a large allocation the GC then had to free.
 */
function greyScratch(n: number): Float64Array {
  if (greyBuffer.length < n) greyBuffer = new Float64Array(Math.max(n, 2 * greyBuffer.length))
  return greyBuffer.subarray(0, n)
}

/**
 * Samples the axis-aligned source rectangle (x, y, w, h; may extend past the image, which reads
 * as black) of an RGB image into an outW×outH grey image, bilinear on pixel centres. Only the
 * pixels under the rectangle are converted to grey, so a small face in a large frame costs only
 * its own pixels. When the rectangle is much larger than the output, up to 4×4 sub-samples per
 * output pixel are averaged to avoid aliasing.
 */
export function cropResizeGrey(
  img: RgbImage,
  rect: { x: number; y: number; w: number; h: number },
  outW: number,
  outH: number
): GreyImage {
  const { data, width: W, height: H } = img
  const out = new Uint8Array(outW * outH)
  const sx = rect.w / outW
  const sy = rect.h / outH
  const kx = Math.max(1, Math.min(4, Math.floor(sx)))
  const ky = Math.max(1, Math.min(4, Math.floor(sy)))
  // Tap positions depend on the column or the row only: computed once, not per output pixel.
  const tx0 = new Int32Array(outW * kx)
  const tfx = new Float64Array(outW * kx)
  for (let u = 0, t = 0; u < outW; u++) {
    for (let i = 0; i < kx; i++, t++) {
      const x = rect.x + (u + (i + 0.5) / kx) * sx - 0.5
      tx0[t] = Math.floor(x)
      tfx[t] = x - tx0[t]
    }
  }
  const ty0 = new Int32Array(outH * ky)
  const tfy = new Float64Array(outH * ky)
  for (let v = 0, t = 0; v < outH; v++) {
    for (let j = 0; j < ky; j++, t++) {
      const y = rect.y + (v + (j + 0.5) / ky) * sy - 0.5
      ty0[t] = Math.floor(y)
      tfy[t] = y - ty0[t]
    }
  }
  // Luma of every source pixel the taps touch, once: with 2×2 sub-samples 1–2 px apart (a face
  // of ~130 px into 64×64, as on LFW) each pixel is otherwise converted ~3 times. Zero outside the
  // image, as the taps read it. Skipped when the taps are sparse in a huge rectangle.
  let gx0 = Infinity
  let gx1 = -Infinity
  let gy0 = Infinity
  let gy1 = -Infinity
  for (const x of tx0) {
    if (x < gx0) gx0 = x
    if (x + 1 > gx1) gx1 = x + 1
  }
  for (const y of ty0) {
    if (y < gy0) gy0 = y
    if (y + 1 > gy1) gy1 = y + 1
  }
  const gw = gx1 - gx0 + 1
  const gh = gy1 - gy0 + 1
  const taps = outW * kx * outH * ky
  let grey: Float64Array | null = null
  if (gw * gh <= 2 * taps) {
    grey = greyScratch(gw * gh)
    // only what lies outside the image is not overwritten below
    if (gx0 < 0 || gy0 < 0 || gx1 >= W || gy1 >= H) grey.fill(0)
    const xa = Math.max(gx0, 0)
    const xb = Math.min(gx1, W - 1)
    for (let yy = Math.max(gy0, 0); yy <= Math.min(gy1, H - 1); yy++) {
      let o = (yy - gy0) * gw + (xa - gx0)
      for (let xx = xa, i = (yy * W + xa) * 3; xx <= xb; xx++, i += 3, o++) {
        grey[o] = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]
      }
    }
  }
  const luma = (xx: number, yy: number): number => {
    if (xx < 0 || yy < 0 || xx >= W || yy >= H) return 0
    const i = (yy * W + xx) * 3
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]
  }
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let s = 0
      for (let j = 0, ty = v * ky; j < ky; j++, ty++) {
        const y0 = ty0[ty]
        const fy = tfy[ty]
        for (let i = 0, t = u * kx; i < kx; i++, t++) {
          const x0 = tx0[t]
          const fx = tfx[t]
          let top: number
          let bot: number
          if (grey) {
            const p = (y0 - gy0) * gw + (x0 - gx0)
            top = grey[p] * (1 - fx) + grey[p + 1] * fx
            bot = grey[p + gw] * (1 - fx) + grey[p + gw + 1] * fx
          } else {
            top = luma(x0, y0) * (1 - fx) + luma(x0 + 1, y0) * fx
            bot = luma(x0, y0 + 1) * (1 - fx) + luma(x0 + 1, y0 + 1) * fx
          }
          s += top * (1 - fy) + bot * fy
        }
      }
      out[v * outW + u] = s / (kx * ky) + 0.5
    }
  }
  return { data: out, width: outW, height: outH }
}

/** Integer-factor box downscale of a region (clamped to the image); used before warping big faces. */
export function extractDownscaled(
  img: RgbImage,
  region: { x: number; y: number; w: number; h: number },
  factor: number
): RgbImage {
  const x0 = Math.max(0, Math.floor(region.x))
  const y0 = Math.max(0, Math.floor(region.y))
  const x1 = Math.min(img.width, Math.ceil(region.x + region.w))
  const y1 = Math.min(img.height, Math.ceil(region.y + region.h))
  if (x1 <= x0 || y1 <= y0) throw new Error('region lies outside the image')
  const k = Math.max(1, Math.min(Math.floor(factor), x1 - x0, y1 - y0))
  const width = Math.max(1, Math.floor((x1 - x0) / k))
  const height = Math.max(1, Math.floor((y1 - y0) / k))
  const out = new Uint8Array(width * height * 3)
  const { data, width: W } = img
  const inv = 1 / (k * k)
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let r = 0
      let g = 0
      let b = 0
      for (let j = 0; j < k; j++) {
        let p = ((y0 + v * k + j) * W + x0 + u * k) * 3
        for (let i = 0; i < k; i++, p += 3) {
          r += data[p]
          g += data[p + 1]
          b += data[p + 2]
        }
      }
      const o = (v * width + u) * 3
      out[o] = r * inv + 0.5
      out[o + 1] = g * inv + 0.5
      out[o + 2] = b * inv + 0.5
    }
  }
  return { data: out, width, height }
}

/**
 * (v − 127) / 128 for every byte: the detector's and recogniser's input normalisation. A table
 * lookup is cheaper than the subtract-and-divide per sample and gives the identical float32.
 */
export const NORMALISE_127_128: Float32Array = (() => {
  const t = new Float32Array(256)
  for (let i = 0; i < 256; i++) t[i] = (i - 127) / 128
  return t
})()

/** Channel-plane offsets of NCHW output for the requested order (plane of R, plane of B). */
function planes(order: 'rgb' | 'bgr', n: number): [number, number] {
  return order === 'rgb' ? [0, 2 * n] : [2 * n, 0]
}

/** Checks (or allocates) the NCHW float buffer for a width×height×3 tensor. */
function chwBuffer(out: Float32Array | undefined, n: number): Float32Array {
  if (!out) return new Float32Array(3 * n)
  if (out.length !== 3 * n) throw new Error(`output buffer holds ${out.length} floats, expected ${3 * n}`)
  return out
}

/**
 * Packed RGB → NCHW float (v − 127) / 128 in the requested channel order, written into `out`
 * when given (reused model-input buffers spare a ~1 MB allocation per frame).
 */
export function rgbToNormalisedChw(img: RgbImage, order: 'rgb' | 'bgr', out?: Float32Array): Float32Array {
  const n = img.width * img.height
  const dst = chwBuffer(out, n)
  const d = img.data
  const lut = NORMALISE_127_128
  const [oR, oB] = planes(order, n)
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    dst[oR + i] = lut[d[j]]
    dst[n + i] = lut[d[j + 1]]
    dst[oB + i] = lut[d[j + 2]]
  }
  return dst
}

/**
 * resizeBilinear followed by rgbToNormalisedChw in one pass, bit-identical to the two-step form
 * (same taps, same float32 weights, same rounding to a byte before normalising) but without the
 * intermediate image. Neighbouring output columns often share their source columns (always when
 * upscaling), so the 12 taps are only re-read when the column pair changes.
 */
export function resizeBilinearToChw(
  img: RgbImage,
  width: number,
  height: number,
  order: 'rgb' | 'bgr',
  out?: Float32Array
): Float32Array {
  const { data, width: W, height: H } = img
  const n = width * height
  const dst = chwBuffer(out, n)
  const sx = W / width
  const sy = H / height
  const { xi0, xi1, xf } = bilinearColumns(W, width, sx)
  const lut = NORMALISE_127_128
  const [oR, oB] = planes(order, n)
  for (let v = 0; v < height; v++) {
    const y = Math.min(Math.max((v + 0.5) * sy - 0.5, 0), H - 1)
    const y0 = Math.floor(y)
    const fy = y - y0
    const r0 = y0 * W * 3
    const r1 = Math.min(y0 + 1, H - 1) * W * 3
    let la = -1
    let lb = -1
    // a*: top-left, b*: top-right, c*: bottom-left, d*: bottom-right tap, per channel
    // prettier-ignore
    let a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0, c0 = 0, c1 = 0, c2 = 0, d0 = 0, d1 = 0, d2 = 0
    for (let u = 0, i = v * width; u < width; u++, i++) {
      const xa = xi0[u]
      const xb = xi1[u]
      if (xa !== la || xb !== lb) {
        if (xa === lb) {
          a0 = b0
          a1 = b1
          a2 = b2
          c0 = d0
          c1 = d1
          c2 = d2
        } else {
          const p = r0 + xa
          const q = r1 + xa
          a0 = data[p]
          a1 = data[p + 1]
          a2 = data[p + 2]
          c0 = data[q]
          c1 = data[q + 1]
          c2 = data[q + 2]
        }
        const p = r0 + xb
        const q = r1 + xb
        b0 = data[p]
        b1 = data[p + 1]
        b2 = data[p + 2]
        d0 = data[q]
        d1 = data[q + 1]
        d2 = data[q + 2]
        la = xa
        lb = xb
      }
      const fx = xf[u]
      let top = a0 + (b0 - a0) * fx
      let bot = c0 + (d0 - c0) * fx
      dst[oR + i] = lut[(top + (bot - top) * fy + 0.5) | 0]
      top = a1 + (b1 - a1) * fx
      bot = c1 + (d1 - c1) * fx
      dst[n + i] = lut[(top + (bot - top) * fy + 0.5) | 0]
      top = a2 + (b2 - a2) * fx
      bot = c2 + (d2 - c2) * fx
      dst[oB + i] = lut[(top + (bot - top) * fy + 0.5) | 0]
    }
  }
  return dst
}

/** Which resampling resizeToChw / resizeRgb apply for a mode ('auto': area when shrinking 2× or more on both axes). */
export function resamplingFor(
  img: RgbImage,
  width: number,
  height: number,
  mode: 'auto' | 'bilinear' | 'area'
): 'area' | 'bilinear' | 'none' {
  if (mode === 'area' || (mode === 'auto' && img.width >= 2 * width && img.height >= 2 * height)) return 'area'
  if (mode === 'auto' && img.width === width && img.height === height) return 'none'
  return 'bilinear'
}

/**
 * The detector input: `mode` as in PipelineTuning.detectorResize ('auto' = area when shrinking 2×
 * or more on both axes, else bilinear), normalised to NCHW floats in `out`. The numbers of
 * rgbToNormalisedChw(resizeRgb(...)), except that the bilinear case runs the WebAssembly SIMD
 * kernel where available, which may round a few samples in 10 000 one grey level differently.
 */
export function resizeToChw(
  img: RgbImage,
  width: number,
  height: number,
  order: 'rgb' | 'bgr',
  mode: 'auto' | 'bilinear' | 'area',
  out?: Float32Array
): Float32Array {
  const how = resamplingFor(img, width, height, mode)
  if (how === 'area') return rgbToNormalisedChw(resizeArea(img, width, height), order, out)
  if (how === 'none') return rgbToNormalisedChw(img, order, out)
  const dst = chwBuffer(out, width * height)
  if (resizeBilinearToChwSimd(img, width, height, order, dst)) return dst
  return resizeBilinearToChw(img, width, height, order, dst)
}
