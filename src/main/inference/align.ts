// Face alignment: a least-squares similarity transform (rotation, uniform scale, translation, no
// shear and no reflection) from the 5 detected landmarks to the recogniser's reference points,
// then an inverse-mapped bilinear warp. A similarity keeps the face's proportions, which the
// recogniser relies on; a 3-point affine (the reference JS) can shear a turned face.
import type { Point } from '../../shared/types'
import type { RgbImage } from '../contracts'

/** Row-major 2×3 affine matrix: x' = m[0]x + m[1]y + m[2]; y' = m[3]x + m[4]y + m[5]. */
export type Affine = [number, number, number, number, number, number]

/** ArcFace reference landmarks for a 112×112 crop. */
export const ARCFACE_REF_112: readonly Point[] = Object.freeze([
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 }
])

/**
 * Umeyama (1991) restricted to 2-D proper similarities. In 2-D the optimal rotation+scale has
 * the closed form a = Σ(s·d)/Σ|s|², b = Σ(s×d)/Σ|s|² on centred points, which is exactly
 * Umeyama's solution with its reflection correction, without needing an SVD.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Affine {
  if (src.length !== dst.length) throw new Error(`point count mismatch: ${src.length} vs ${dst.length}`)
  const n = src.length
  if (n < 2) throw new Error('a similarity transform needs at least 2 point pairs')
  let sx = 0
  let sy = 0
  let dx = 0
  let dy = 0
  for (let i = 0; i < n; i++) {
    sx += src[i].x
    sy += src[i].y
    dx += dst[i].x
    dy += dst[i].y
  }
  sx /= n
  sy /= n
  dx /= n
  dy /= n
  let ss = 0
  let dotSum = 0
  let crossSum = 0
  for (let i = 0; i < n; i++) {
    const px = src[i].x - sx
    const py = src[i].y - sy
    const qx = dst[i].x - dx
    const qy = dst[i].y - dy
    ss += px * px + py * py
    dotSum += px * qx + py * qy
    crossSum += px * qy - py * qx
  }
  if (!(ss > 1e-12)) throw new Error('degenerate landmarks: all source points coincide')
  const a = dotSum / ss
  const b = crossSum / ss
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)]
}

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] }
}

export function invertAffine(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3]
  if (Math.abs(det) < 1e-12) throw new Error('affine transform is not invertible')
  const i0 = m[4] / det
  const i1 = -m[1] / det
  const i3 = -m[3] / det
  const i4 = m[0] / det
  return [i0, i1, -(i0 * m[2] + i1 * m[5]), i3, i4, -(i3 * m[2] + i4 * m[5])]
}

/** Scale factor of a similarity (length multiplier), used to judge how much a crop was enlarged. */
export function similarityScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]))
}

/**
 * Warps img by `srcToDst` into a width×height output. Each output pixel centre is mapped back
 * into the source and sampled bilinearly (pixel centres at integer coordinates, as OpenCV's
 * warpAffine does, so the ArcFace reference points keep their meaning). Outside the source the
 * output is black, matching the recogniser's training crops.
 */
export function warpAffineRgb(img: RgbImage, srcToDst: Affine, width: number, height: number): RgbImage {
  const inv = invertAffine(srcToDst)
  const out = new Uint8Array(width * height * 3)
  const { data, width: W, height: H } = img
  for (let v = 0; v < height; v++) {
    let x = inv[1] * v + inv[2]
    let y = inv[4] * v + inv[5]
    for (let u = 0; u < width; u++, x += inv[0], y += inv[3]) {
      const x0 = Math.floor(x)
      const y0 = Math.floor(y)
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) continue
      const fx = x - x0
      const fy = y - y0
      const o = (v * width + u) * 3
      // Four taps; a tap outside the image contributes black.
      const w00 = (1 - fx) * (1 - fy)
      const w10 = fx * (1 - fy)
      const w01 = (1 - fx) * fy
      const w11 = fx * fy
      const in0 = y0 >= 0
      const in1 = y0 + 1 < H
      const inL = x0 >= 0
      const inR = x0 + 1 < W
      const base = (y0 * W + x0) * 3
      if (in0 && in1 && inL && inR) {
        // all four taps inside (nearly every pixel of a face crop): no per-tap checks
        const b2 = base + W * 3
        out[o] = w00 * data[base] + w10 * data[base + 3] + w01 * data[b2] + w11 * data[b2 + 3] + 0.5
        out[o + 1] = w00 * data[base + 1] + w10 * data[base + 4] + w01 * data[b2 + 1] + w11 * data[b2 + 4] + 0.5
        out[o + 2] = w00 * data[base + 2] + w10 * data[base + 5] + w01 * data[b2 + 2] + w11 * data[b2 + 5] + 0.5
        continue
      }
      for (let c = 0; c < 3; c++) {
        let s = 0
        if (in0 && inL) s += w00 * data[base + c]
        if (in0 && inR) s += w10 * data[base + 3 + c]
        if (in1 && inL) s += w01 * data[base + W * 3 + c]
        if (in1 && inR) s += w11 * data[base + W * 3 + 3 + c]
        out[o + c] = s + 0.5
      }
    }
  }
  return { data: out, width, height }
}

/** Horizontal mirror, used for flip-augmented embeddings. */
export function mirrorRgb(img: RgbImage): RgbImage {
  const { width, height, data } = img
  const out = new Uint8Array(data.length)
  for (let y = 0; y < height; y++) {
    const row = y * width * 3
    for (let x = 0; x < width; x++) {
      const s = row + x * 3
      const d = row + (width - 1 - x) * 3
      out[d] = data[s]
      out[d + 1] = data[s + 1]
      out[d + 2] = data[s + 2]
    }
  }
  return { data: out, width, height }
}
