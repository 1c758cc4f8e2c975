// Deterministic synthetic embeddings for gallery/matcher tests.
export const DIM = 512

export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())
}

export function unit(v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  const inv = 1 / Math.sqrt(s)
  for (let i = 0; i < v.length; i++) v[i] *= inv
  return v
}

export function randomUnit(r: () => number, dim = DIM): Float32Array {
  return unit(Float32Array.from({ length: dim }, () => gauss(r)))
}

/** A unit vector at cosine ≈ 1/sqrt(1 + dim·noise²) from `centre`. */
export function around(centre: Float32Array, noise: number, r: () => number): Float32Array {
  const v = new Float32Array(centre.length)
  for (let i = 0; i < v.length; i++) v[i] = centre[i] + noise * gauss(r)
  return unit(v)
}

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
