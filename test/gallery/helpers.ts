// Deterministic synthetic embeddings for gallery/matcher tests.
export const DIM = 512

export { around, gauss, randomUnit, rng, unit } from '../../src/main/gallery/synthetic'
import { gauss, unit } from '../../src/main/gallery/synthetic'

/** Unit vector whose cosine with unit vector `a` is exactly `cos` (up to float rounding). */
export function atCosine(a: Float32Array, cos: number, r: () => number): Float32Array {
  // Gram–Schmidt a random vector against a, then mix
  const g = Float32Array.from({ length: a.length }, () => gauss(r))
  let d = 0
  for (let i = 0; i < a.length; i++) d += g[i] * a[i]
  for (let i = 0; i < a.length; i++) g[i] -= d * a[i]
  unit(g)
  const s = Math.sqrt(Math.max(0, 1 - cos * cos))
  const v = new Float32Array(a.length)
  for (let i = 0; i < a.length; i++) v[i] = cos * a[i] + s * g[i]
  return v
}
