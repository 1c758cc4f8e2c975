import type { Box } from '@shared/types'

/** Where a source image lands inside a container with object-fit: contain (letterboxed, centred). */
export interface Fit {
  /** offset of the image inside the container, px */
  x: number
  y: number
  /** displayed image size, px */
  w: number
  h: number
  /** container px per source px */
  scale: number
}

export function fitContain(srcW: number, srcH: number, boxW: number, boxH: number): Fit {
  if (!(srcW > 0) || !(srcH > 0) || !(boxW > 0) || !(boxH > 0)) return { x: 0, y: 0, w: 0, h: 0, scale: 0 }
  const scale = Math.min(boxW / srcW, boxH / srcH)
  const w = srcW * scale
  const h = srcH * scale
  return { x: (boxW - w) / 2, y: (boxH - h) / 2, w, h, scale }
}

/** A box in source px → container px, clipped to the displayed image so labels never float outside it. */
export function scaleBox(box: Box, fit: Fit): Box {
  const x1 = fit.x + Math.max(0, box.x) * fit.scale
  const y1 = fit.y + Math.max(0, box.y) * fit.scale
  const x2 = Math.min(fit.x + fit.w, fit.x + (box.x + box.w) * fit.scale)
  const y2 = Math.min(fit.y + fit.h, fit.y + (box.y + box.h) * fit.scale)
  return { x: x1, y: y1, w: Math.max(0, x2 - x1), h: Math.max(0, y2 - y1) }
}

export type LabelSpot = 'above' | 'below' | 'inside'

export interface LabelRequest {
  box: Box
  /** estimated label width, px */
  width: number
}

/** Rough width of a label in the 11 px bold overlay font; good enough to avoid collisions. */
export function estimateLabelWidth(text: string): number {
  return Math.ceil(text.length * 6.6 + 8)
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/**
 * Puts each face label above its box, or below, or inside the top edge, whichever first collides
 * with no label placed so far (left to right). Faces side by side in a crowd would otherwise print
 * their names over each other.
 */
export function placeLabels(
  reqs: LabelRequest[],
  labelH: number,
  bounds: { top: number; bottom: number }
): LabelSpot[] {
  const order = reqs.map((_, i) => i).sort((a, b) => (reqs[a]?.box.x ?? 0) - (reqs[b]?.box.x ?? 0))
  const placed: Box[] = []
  const out = new Array<LabelSpot>(reqs.length).fill('above')
  for (const i of order) {
    const r = reqs[i]
    if (!r) continue
    const { box, width } = r
    const rects: Record<LabelSpot, Box> = {
      above: { x: box.x, y: box.y - labelH, w: width, h: labelH },
      below: { x: box.x, y: box.y + box.h, w: width, h: labelH },
      inside: { x: box.x, y: box.y, w: width, h: labelH }
    }
    const fits: Record<LabelSpot, boolean> = {
      above: box.y - labelH >= bounds.top,
      below: box.y + box.h + labelH <= bounds.bottom,
      inside: true
    }
    const spots: LabelSpot[] = ['above', 'below', 'inside']
    const spot =
      spots.find((s) => fits[s] && !placed.some((p) => overlaps(p, rects[s]))) ?? (fits.above ? 'above' : 'inside')
    out[i] = spot
    placed.push(rects[spot])
  }
  return out
}
