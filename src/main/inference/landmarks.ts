// The landmark model predicts the 68-point iBUG layout; alignment needs the 5 points the
// recogniser was trained with (ArcFace order: left eye, right eye, nose, left mouth, right mouth).
import type { Point } from '../../shared/types'

function mean(pts: Point[]): Point {
  let x = 0
  let y = 0
  for (const p of pts) {
    x += p.x
    y += p.y
  }
  return { x: x / pts.length, y: y / pts.length }
}

/** Decodes the flat model output (x0,y0,x1,y1,…) into points. */
export function unpackPoints(flat: ArrayLike<number>): Point[] {
  if (flat.length % 2 !== 0) throw new Error(`landmark output has odd length ${flat.length}`)
  const pts: Point[] = []
  for (let i = 0; i < flat.length; i += 2) pts.push({ x: flat[i], y: flat[i + 1] })
  return pts
}

/**
 * 68 → 5 as in the reference implementation: eye centres from four eyelid points each (the eye
 * corners 36/39 and 42/45 are left out, matching the reference), nose tip 30, mouth corners
 * averaged between outer (48/54) and inner (60/64) lip corners.
 */
export function landmarks68to5(p: Point[]): Point[] {
  if (p.length !== 68) throw new Error(`expected 68 landmarks, got ${p.length}`)
  return [
    mean([p[37], p[38], p[40], p[41]]),
    mean([p[43], p[44], p[46], p[47]]),
    { x: p[30].x, y: p[30].y },
    mean([p[48], p[60]]),
    mean([p[54], p[64]])
  ]
}
