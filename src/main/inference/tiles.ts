// Small faces in big frames: the detector sees 320×240 whatever it is given, so in a 1920×1080
// crowd frame a 24 px face shrinks to 4 px and is lost. Cutting the frame into n×n overlapping
// tiles gives each tile the detector's full input; a face lost in the whole frame is found in its
// tile. The whole frame is still searched too (a face bigger than a tile would be cut in parts),
// and the results are merged: NMS, then a box mostly inside a better one (a face cut by a tile
// edge) is dropped.
import type { Box } from '../../shared/types'
import type { RgbImage } from '../contracts'
import type { RawDetection } from './pipeline'

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

/**
 * n×n tiles covering a w×h image, each grown by `overlap` (fraction of the tile side) on the
 * sides that have a neighbour, so a face up to that size on a tile edge lies wholly in one tile.
 * Integer pixel rects inside the image.
 */
export function tileRects(w: number, h: number, n: number, overlap = 0.2): Rect[] {
  const k = Math.max(1, Math.floor(n))
  if (k === 1) return [{ x: 0, y: 0, w, h }]
  const tw = w / k
  const th = h / k
  const ox = tw * overlap
  const oy = th * overlap
  const out: Rect[] = []
  for (let r = 0; r < k; r++)
    for (let c = 0; c < k; c++) {
      const x1 = Math.max(0, Math.floor(c * tw - ox))
      const y1 = Math.max(0, Math.floor(r * th - oy))
      const x2 = Math.min(w, Math.ceil((c + 1) * tw + ox))
      const y2 = Math.min(h, Math.ceil((r + 1) * th + oy))
      out.push({ x: x1, y: y1, w: x2 - x1, h: y2 - y1 })
    }
  return out
}

/** A copy of the rect's pixels (the detector's resize wants a packed image). */
export function cropRgb(img: RgbImage, r: Rect): RgbImage {
  const out = new Uint8Array(r.w * r.h * 3)
  const rowBytes = r.w * 3
  for (let y = 0; y < r.h; y++) {
    const src = ((r.y + y) * img.width + r.x) * 3
    out.set(img.data.subarray(src, src + rowBytes), y * rowBytes)
  }
  return { data: out, width: r.w, height: r.h }
}

function area(b: Box): number {
  return Math.max(0, b.w) * Math.max(0, b.h)
}

function intersection(a: Box, b: Box): number {
  const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)
  const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y)
  return iw > 0 && ih > 0 ? iw * ih : 0
}

/**
 * Merges detections of the whole frame and its tiles: best score first, a box is dropped when it
 * overlaps a kept one by IoU > `iouMax`, or lies mostly (> `insideMax` of its area) inside one.
 */
export function mergeDetections(dets: RawDetection[], iouMax = 0.4, insideMax = 0.6): RawDetection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score)
  const kept: RawDetection[] = []
  for (const d of sorted) {
    const a = area(d.box)
    const clash = kept.some((k) => {
      const inter = intersection(d.box, k.box)
      if (inter === 0) return false
      const union = a + area(k.box) - inter
      return inter / union > iouMax || inter / Math.max(1e-9, Math.min(a, area(k.box))) > insideMax
    })
    if (!clash) kept.push(d)
  }
  return kept
}
