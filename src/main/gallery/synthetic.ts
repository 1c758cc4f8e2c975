// Deterministic synthetic embeddings for benchmarks and tests of the matcher (no model needed).

/** mulberry32: small, seedable, good enough for test vectors. */
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

/** Box–Muller: Gaussian components give isotropic directions, unlike uniform cube samples. */
export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())
}

/** Normalises in place and returns the vector. */
export function unit(v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  const inv = 1 / Math.sqrt(s)
  for (let i = 0; i < v.length; i++) v[i] *= inv
  return v
}

export function randomUnit(r: () => number, dim = 512): Float32Array {
  const v = new Float32Array(dim)
  for (let i = 0; i < dim; i++) v[i] = gauss(r)
  return unit(v)
}

/** A unit vector at cosine ≈ 1/sqrt(1 + dim·noise²) from `centre`. */
export function around(centre: Float32Array, noise: number, r: () => number): Float32Array {
  const v = new Float32Array(centre.length)
  for (let i = 0; i < v.length; i++) v[i] = centre[i] + noise * gauss(r)
  return unit(v)
}
