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
