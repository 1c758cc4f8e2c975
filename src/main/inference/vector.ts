// Embedding arithmetic. Embeddings leave the pipeline L2-normalised, so cosine is a dot product,
// but these helpers normalise defensively because stored vectors may come from older code.

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`vector length mismatch: ${a.length} vs ${b.length}`)
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a))
}

/** Returns a new unit-length copy; a zero vector stays zero rather than becoming NaN. */
export function l2normalize(a: ArrayLike<number>): Float32Array {
  const n = norm(a)
  const out = new Float32Array(a.length)
  if (n === 0 || !Number.isFinite(n)) return out
  for (let i = 0; i < a.length; i++) out[i] = a[i] / n
  return out
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
  const len = vectors[0].length
  const sum = new Float32Array(len)
  for (const v of vectors) {
    if (v.length !== len) throw new Error(`vector length mismatch: ${v.length} vs ${len}`)
    const u = l2normalize(v)
    for (let i = 0; i < len; i++) sum[i] += u[i]
  }
  return l2normalize(sum)
}
