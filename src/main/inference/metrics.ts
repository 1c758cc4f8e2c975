// Verification metrics for `npm run eval`: scores are similarities, "same person" is predicted
// when score >= threshold. Pairs whose images had no face carry ±Infinity so every finite
// threshold counts them wrong, which is how the eval refuses to skip them.

export interface Confusion {
  tp: number
  fp: number
  tn: number
  fn: number
}

export function confusionAt(genuine: readonly number[], impostor: readonly number[], threshold: number): Confusion {
  let tp = 0
  let fp = 0
  for (const s of genuine) if (s >= threshold) tp++
  for (const s of impostor) if (s >= threshold) fp++
  return { tp, fp, fn: genuine.length - tp, tn: impostor.length - fp }
}

export function accuracyOf(c: Confusion): number {
  const n = c.tp + c.fp + c.tn + c.fn
  return n === 0 ? 0 : (c.tp + c.tn) / n
}

/** F1 of the "same person" class; 0 when nothing was predicted or nothing was positive. */
export function f1Of(c: Confusion): number {
  const denom = 2 * c.tp + c.fp + c.fn
  return denom === 0 ? 0 : (2 * c.tp) / denom
}

/**
 * ROC AUC as the Mann–Whitney probability that a random genuine pair outscores a random
 * impostor pair, ties counting one half. O(n log n) via one sort.
 */
export function rocAuc(genuine: readonly number[], impostor: readonly number[]): number {
  if (genuine.length === 0 || impostor.length === 0) return NaN
  const all = [...genuine.map((s) => ({ s, pos: true })), ...impostor.map((s) => ({ s, pos: false }))].sort(
    (a, b) => a.s - b.s || 0
  )
  let negBelow = 0
  let wins = 0
  for (let i = 0; i < all.length;) {
    let j = i
    let posInGroup = 0
    let negInGroup = 0
    while (j < all.length && (all[j].s === all[i].s || (Number.isNaN(all[j].s) && Number.isNaN(all[i].s)))) {
      if (all[j].pos) posInGroup++
      else negInGroup++
      j++
    }
    wins += posInGroup * (negBelow + negInGroup / 2)
    negBelow += negInGroup
    i = j
  }
  return wins / (genuine.length * impostor.length)
}

export interface BestThreshold extends Confusion {
  threshold: number
  accuracy: number
}

/**
 * The threshold with the highest accuracy. Candidates are the distinct finite scores (plus "above
 * all of them"); the reported threshold is the midpoint to the next lower score, which classifies
 * identically but sits in the gap rather than on a sample. Ties keep the higher threshold, the
 * safer choice for an accept threshold.
 */
export function bestThreshold(genuine: readonly number[], impostor: readonly number[]): BestThreshold {
  const finite = [...genuine, ...impostor].filter(Number.isFinite)
  const distinct = [...new Set(finite)].sort((a, b) => b - a)
  const maxFinite = distinct.length ? distinct[0] : 0
  const candidates: { at: number; report: number }[] = [{ at: maxFinite + 1e-6, report: maxFinite + 1e-6 }]
  for (let i = 0; i < distinct.length; i++) {
    const lower = i + 1 < distinct.length ? distinct[i + 1] : distinct[i]
    candidates.push({ at: distinct[i], report: (distinct[i] + lower) / 2 })
  }
  // Sweep from the top: one pass over both sorted lists instead of recounting per candidate.
  const g = [...genuine].sort((a, b) => b - a)
  const im = [...impostor].sort((a, b) => b - a)
  let gi = 0
  let ii = 0
  let best: BestThreshold | null = null
  for (const c of candidates) {
    while (gi < g.length && g[gi] >= c.at) gi++
    while (ii < im.length && im[ii] >= c.at) ii++
    const conf: Confusion = { tp: gi, fp: ii, fn: g.length - gi, tn: im.length - ii }
    const acc = accuracyOf(conf)
    if (!best || acc > best.accuracy) best = { ...conf, threshold: c.report, accuracy: acc }
  }
  return best as BestThreshold
}

/** Linear-interpolated percentile (p in 0..100) of finite values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (v.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return v[lo] + (v[hi] - v[lo]) * (pos - lo)
}

/**
 * Lowest threshold (on the 0.005 grid, for readable settings) at which at most `rate` of the
 * impostor pairs would be accepted.
 */
export function thresholdForFalseAcceptRate(impostor: readonly number[], rate: number, step = 0.005): number {
  const v = impostor.filter(Number.isFinite).sort((a, b) => b - a)
  if (v.length === 0) return NaN
  const allowed = Math.floor(rate * v.length)
  // Strictly above the (allowed+1)-th highest impostor score.
  const bound = allowed < v.length ? v[allowed] : -Infinity
  return Math.floor(bound / step + 1) * step
}

/** Highest threshold (0.005 grid) at which at least `rate` of the genuine pairs are still caught. */
export function thresholdForTrueAcceptRate(genuine: readonly number[], rate: number, step = 0.005): number {
  const v = genuine.filter(Number.isFinite).sort((a, b) => b - a)
  if (v.length === 0) return NaN
  const need = Math.min(v.length, Math.max(1, Math.ceil(rate * v.length)))
  return Math.floor(v[need - 1] / step) * step
}

/**
 * Leave-one-out nearest neighbour by cosine (vectors are unit length, so a dot product). An item
 * without a vector is a miss and cannot be anyone's neighbour.
 */
export function nearestNeighbourAccuracy(vectors: readonly (Float32Array | null)[], labels: readonly string[]): number {
  if (vectors.length !== labels.length) throw new Error('vectors and labels differ in length')
  if (vectors.length === 0) return NaN
  let correct = 0
  for (let i = 0; i < vectors.length; i++) {
    const a = vectors[i]
    if (!a) continue
    let best = -Infinity
    let bestJ = -1
    for (let j = 0; j < vectors.length; j++) {
      const b = vectors[j]
      if (j === i || !b) continue
      let s = 0
      for (let k = 0; k < a.length; k++) s += a[k] * b[k]
      if (s > best) {
        best = s
        bestJ = j
      }
    }
    if (bestJ >= 0 && labels[bestJ] === labels[i]) correct++
  }
  return correct / vectors.length
}

/**
 * Separation of the genuine and impostor score distributions, (μg − μi) / sqrt((σg² + σi²)/2).
 * Still informative when accuracy has saturated at 1, so it is what tuning choices are compared on.
 */
export function dPrime(genuine: readonly number[], impostor: readonly number[]): number {
  const stats = (v: number[]): [number, number] => {
    const m = v.reduce((a, b) => a + b, 0) / v.length
    return [m, v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)]
  }
  const g = genuine.filter(Number.isFinite)
  const im = impostor.filter(Number.isFinite)
  if (g.length < 2 || im.length < 2) return NaN
  const [mg, vg] = stats(g)
  const [mi, vi] = stats(im)
  const s = Math.sqrt((vg + vi) / 2)
  return s === 0 ? NaN : (mg - mi) / s
}
