// Open-set thresholds. A stranger is compared with every person in the gallery and named when the
// best of those N impostor scores reaches the accept threshold, so the chance of a wrong name grows
// about N-fold with the gallery. The effective accept threshold is raised with N so that chance
// stays at a stated target under a measured model of impostor scores. Pure functions.
import type { Thresholds } from './types'

export interface ImpostorModel {
  /** mean and standard deviation of the similarity of two different people's faces */
  mean: number
  sd: number
  /** the chance of naming a stranger that the rule keeps to, per decided face */
  target: number
}

/**
 * Measured with the app's pipeline (see README "Open set"): impostor pairs on lfw-subset (4 500
 * pairs) mean 0.019, sd 0.105, max 0.312; on gallery-bbt (620 pairs) mean 0.012, sd 0.088, max
 * 0.262. The normal model with the larger sd over-predicts both sets' observed tails (it expects
 * ~12 LFW pairs above 0.312, there are 0), so it errs on the safe side.
 */
export const DEFAULT_IMPOSTOR_MODEL: ImpostorModel = { mean: 0.02, sd: 0.105, target: 1e-3 }

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9 after
 * one Halley step is not needed at the precision thresholds need: < 5e-4 in z).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`)
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239
  ]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const lo = 0.02425
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    )
  }
  if (p > 1 - lo) return -normalQuantile(1 - p)
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  )
}

/**
 * The lowest accept threshold at which a stranger compared with `gallerySize` people is named with
 * at most model.target chance: P(max of N impostor scores ≥ t) ≈ N · P(score ≥ t) = target.
 */
export function openSetFloor(gallerySize: number, model: ImpostorModel = DEFAULT_IMPOSTOR_MODEL): number {
  const n = Math.max(1, Math.floor(gallerySize))
  const perPair = Math.min(0.5, model.target / n)
  return model.mean + model.sd * normalQuantile(1 - perPair)
}

/**
 * The thresholds the matcher applies for a gallery of this size: the configured accept, raised to
 * the open-set floor when the gallery has outgrown it. Review stays as configured (a stranger in
 * review costs an operator's glance, not a wrong name) but never above accept.
 */
export function effectiveThresholds(
  t: Thresholds,
  gallerySize: number,
  model: ImpostorModel = DEFAULT_IMPOSTOR_MODEL
): Thresholds {
  const accept = Math.max(t.accept, openSetFloor(gallerySize, model))
  return { accept, review: Math.min(t.review, accept) }
}

/** The largest gallery the configured accept threshold alone keeps at the target (for Settings). */
export function gallerySizeCovered(accept: number, model: ImpostorModel = DEFAULT_IMPOSTOR_MODEL): number {
  let n = 1
  while (n < 1e7 && openSetFloor(n * 2, model) <= accept) n *= 2
  let lo = n
  let hi = n * 2
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (openSetFloor(mid, model) <= accept) lo = mid
    else hi = mid
  }
  return openSetFloor(1, model) > accept ? 0 : lo
}
