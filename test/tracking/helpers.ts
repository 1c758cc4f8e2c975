import type { DetectedFace } from '../../src/main/contracts'
import type { FaceTracker } from '../../src/main/tracking/tracker'
import type { Box, FaceQuality } from '../../src/shared/types'

/** Deterministic pseudo-random unit vector per seed (mulberry32). */
export function randomUnit(seed: number, dim = 512): Float32Array {
  let a = seed >>> 0
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5
  }
  const v = new Float32Array(dim)
  let s = 0
  for (let i = 0; i < dim; i++) {
    v[i] = rnd()
    s += v[i]! * v[i]!
  }
  for (let i = 0; i < dim; i++) v[i] = v[i]! / Math.sqrt(s)
  return v
}

/** `base` pushed towards noise so that cosine(base, result) ≈ sim. */
export function near(base: Float32Array, sim: number, seed: number): Float32Array {
  const n = randomUnit(seed, base.length)
  // remove the component along base so n is orthogonal, then mix
  let d = 0
  for (let i = 0; i < base.length; i++) d += base[i]! * n[i]!
  let s = 0
  const o = new Float32Array(base.length)
  for (let i = 0; i < base.length; i++) {
    o[i] = n[i]! - d * base[i]!
    s += o[i]! * o[i]!
  }
  const k = Math.sqrt(1 - sim * sim) / Math.sqrt(s)
  const out = new Float32Array(base.length)
  for (let i = 0; i < base.length; i++) out[i] = sim * base[i]! + k * o[i]!
  return out
}

export function quality(score: number): FaceQuality {
  return { sizePx: 80, detScore: 0.9, blur: 100, yawDeg: 0, pitchDeg: 0, score }
}

export function face(box: Box, opts: { embedding?: Float32Array | null; q?: number } = {}): DetectedFace {
  return {
    box,
    detScore: 0.9,
    landmarks5: [],
    quality: quality(opts.q ?? 0.5),
    embedding: opts.embedding ?? null
  }
}

/**
 * A frame-level embedding policy for tests that drive the tracker directly: embed when nothing is
 * tracked yet (any face would be new) or any track is due (the live processor decides per face).
 */
export function wantEmbeddings(tr: FaceTracker<unknown>, at: number): boolean {
  const active = tr.active()
  return active.length === 0 || active.some((t) => tr.shouldEmbed(t, at))
}
