// The engine's one copy of vector and box math: embedding normalisation and similarity (the
// pipeline, the gallery and the tracker all compare the same 512-d vectors) and box overlap (the
// detector's NMS and the tracker's association). Embeddings leave the pipeline L2-normalised, so
// cosine is a dot product, but these helpers normalise defensively because stored vectors may
// come from older code.
import type { Box } from '../../shared/types'

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`vector length mismatch: ${a.length} vs ${b.length}`)
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a))
}

/** Unit-length copy; null for a zero or non-finite vector (callers that must skip those). */
export function l2normalizeOrNull(a: ArrayLike<number>): Float32Array | null {
  const n = norm(a)
  if (!(n > 0) || !Number.isFinite(n)) return null
  const k = 1 / n
  const out = new Float32Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * k
  return out
}

/** Unit-length copy; a zero (or non-finite) vector stays zero rather than becoming NaN. */
export function l2normalize(a: ArrayLike<number>): Float32Array {
  return l2normalizeOrNull(a) ?? new Float32Array(a.length)
}

/** Cosine similarity in -1..1; 0 when either vector is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a)
  const nb = norm(b)
  if (na === 0 || nb === 0) return 0
  return dot(a, b) / (na * nb)
}

/** Normalised mean direction of several vectors, e.g. an original and a mirrored embedding. */
export function meanDirection(vectors: ArrayLike<number>[]): Float32Array {
  if (vectors.length === 0) throw new Error('meanDirection needs at least one vector')
  const len = vectors[0]!.length
  const sum = new Float32Array(len)
  for (const v of vectors) {
    if (v.length !== len) throw new Error(`vector length mismatch: ${v.length} vs ${len}`)
    const u = l2normalize(v)
    for (let i = 0; i < len; i++) sum[i]! += u[i]!
  }
  return l2normalize(sum)
}

/** Corner form used by the detector: x1,y1 top-left, x2,y2 bottom-right. */
export interface Corners {
  x1: number
  y1: number
  x2: number
  y2: number
}

/** Intersection over union of two corner-form boxes; 0 for empty or disjoint boxes. */
export function iouCorners(a: Corners, b: Corners): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)
  if (iw <= 0 || ih <= 0) return 0
  const inter = iw * ih
  const areaA = Math.max(0, a.x2 - a.x1) * Math.max(0, a.y2 - a.y1)
  const areaB = Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1)
  const union = areaA + areaB - inter
  return union <= 0 ? 0 : inter / union
}

/** Intersection over union of two x/y/w/h boxes; 0 for empty or disjoint boxes. */
export function iou(a: Box, b: Box): number {
  return iouCorners(
    { x1: a.x, y1: a.y, x2: a.x + a.w, y2: a.y + a.h },
    { x1: b.x, y1: b.y, x2: b.x + b.w, y2: b.y + b.h }
  )
}
