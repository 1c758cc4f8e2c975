// Does the box the console draws over a snapshot sit on the outline the engine burnt into that
// snapshot? Both come from the same event, so they must coincide; a box taken from a different
// frame than the picture (the face moved) shows up as two boxes side by side.
import sharp from 'sharp'
import type { Locator } from 'playwright-core'
import { BAND_HEX, hexToRgb } from '../../../src/shared/theme'

export type Rgb = readonly [number, number, number]

/** outline colours the engine burns in: the theme's match and review colours, as the console's */
export const BURNT_COLOURS: readonly Rgb[] = [hexToRgb(BAND_HEX.match), hexToRgb(BAND_HEX.review)]

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export interface RawImage {
  data: Uint8Array
  width: number
  height: number
  /** 3 (RGB) or 4 (RGBA) */
  channels: number
}

/** Squared RGB distance under which a JPEG pixel still counts as the outline colour. */
const NEAR = 70 * 70

function near(img: RawImage, x: number, y: number, colours: readonly Rgb[]): boolean {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return false
  const i = (y * img.width + x) * img.channels
  const r = img.data[i] ?? 0
  const g = img.data[i + 1] ?? 0
  const b = img.data[i + 2] ?? 0
  return colours.some(([cr, cg, cb]) => (r - cr) ** 2 + (g - cg) ** 2 + (b - cb) ** 2 < NEAR)
}

/**
 * Share (0..1) of points spread along the four sides of `rect` that have an outline-coloured
 * pixel within `tol` px. JPEG smears the thin outline and boxes are rounded on both sides, hence
 * the tolerance; a box off by a face width scores near 0.
 */
export function outlineHitRate(
  img: RawImage,
  rect: Rect,
  colours: readonly Rgb[] = BURNT_COLOURS,
  tol = 3,
  perSide = 12
): number {
  const pts: [number, number][] = []
  for (let k = 1; k <= perSide; k++) {
    const fx = rect.x + (rect.w * k) / (perSide + 1)
    const fy = rect.y + (rect.h * k) / (perSide + 1)
    pts.push([fx, rect.y], [fx, rect.y + rect.h], [rect.x, fy], [rect.x + rect.w, fy])
  }
  let hits = 0
  for (const [px, py] of pts) {
    const cx = Math.round(px)
    const cy = Math.round(py)
    let hit = false
    for (let dy = -tol; dy <= tol && !hit; dy++)
      for (let dx = -tol; dx <= tol && !hit; dx++) hit = near(img, cx + dx, cy + dy, colours)
    if (hit) hits++
  }
  return pts.length ? hits / pts.length : 0
}

/** Decodes a data: URL (what the console's <img> shows) into raw pixels. */
export async function decodeDataUrl(url: string): Promise<RawImage> {
  const m = /^data:image\/[\w+.-]+;base64,(.*)$/s.exec(url)
  if (!m?.[1]) throw new Error(`not a base64 image data URL: ${url.slice(0, 40)}…`)
  const { data, info } = await sharp(Buffer.from(m[1], 'base64')).raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

/**
 * For a SnapshotWithBox on the page (its root `.snap`): the drawn SVG rectangle (in the snapshot's
 * own pixels, the SVG's viewBox) and how well it lies on the burnt-in outline.
 */
export async function snapshotBoxAgreement(snap: Locator): Promise<{ rate: number; rect: Rect }> {
  const src = await snap.locator('img').first().getAttribute('src')
  if (!src) throw new Error('snapshot has no image')
  const r = snap.locator('svg rect').first()
  const [x, y, w, h] = await Promise.all(
    ['x', 'y', 'width', 'height'].map(async (a) => Number(await r.getAttribute(a)))
  )
  const rect = { x: x ?? NaN, y: y ?? NaN, w: w ?? NaN, h: h ?? NaN }
  if (![rect.x, rect.y, rect.w, rect.h].every(Number.isFinite))
    throw new Error(`snapshot box has no geometry: ${JSON.stringify(rect)}`)
  return { rate: outlineHitRate(await decodeDataUrl(src), rect), rect }
}
