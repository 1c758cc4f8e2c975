// Online clustering of unknown faces into stranger groups. Each group keeps the quality-weighted
// sum of its members' unit embeddings; its direction (the centroid) is a steadier picture of the
// person than any one face, so a new face joins the group whose centroid it resembles most, when
// that resemblance clears `joinAt`, and starts a new group otherwise. The same functions serve the
// live stranger groups and `npm run eval -- --cluster`. Pure functions.

export interface ClusterOptions {
  /** cosine to a group's centroid at/above which a face joins it */
  joinAt: number
}

/**
 * Calibrated with `npm run eval -- --cluster` on lfw-subset and gallery-bbt (README "Stranger
 * groups"). A face's similarity to the centroid of its own person's other faces sits above its
 * pairwise genuine scores, an impostor's below its pairwise impostor scores: 0.42 separates both
 * sets while staying above the highest impostor pair seen (0.312).
 */
export const DEFAULT_CLUSTER: ClusterOptions = { joinAt: 0.42 }

export interface GroupVector {
  /** quality-weighted sum of unit embeddings (not normalised) */
  sum: Float32Array
  /** members so far */
  count: number
}

function unit(v: Float32Array): Float32Array | null {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  if (!(s > 0) || !Number.isFinite(s)) return null
  const k = 1 / Math.sqrt(s)
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * k
  return out
}

/** Unit-length centroid of a group (null for an empty or degenerate sum). */
export function centroid(g: Pick<GroupVector, 'sum'>): Float32Array | null {
  return unit(g.sum)
}

/** Cosine of a unit embedding with a group's centroid. */
export function similarityToGroup(e: Float32Array, g: Pick<GroupVector, 'sum'>): number {
  if (e.length !== g.sum.length) throw new Error(`embedding length mismatch: ${e.length} vs ${g.sum.length}`)
  let dot = 0
  let ss = 0
  for (let i = 0; i < e.length; i++) {
    dot += e[i]! * g.sum[i]!
    ss += g.sum[i]! * g.sum[i]!
  }
  return ss > 0 ? dot / Math.sqrt(ss) : 0
}

/** The best group for a face: its index and similarity, or index -1 when none clears joinAt. */
export function nearestGroup(
  e: Float32Array,
  groups: readonly Pick<GroupVector, 'sum'>[],
  opts: ClusterOptions = DEFAULT_CLUSTER
): { index: number; similarity: number } {
  let best = -1
  let bestSim = -Infinity
  groups.forEach((g, i) => {
    const s = similarityToGroup(e, g)
    if (s > bestSim) {
      bestSim = s
      best = i
    }
  })
  return bestSim >= opts.joinAt ? { index: best, similarity: bestSim } : { index: -1, similarity: bestSim }
}

/** A group with one more member, weighted by its quality (floor 0.05: a poor face still counts). */
export function addToGroup(g: GroupVector, e: Float32Array, quality = 1): GroupVector {
  const n = unit(e)
  if (!n) throw new Error('addToGroup: embedding is zero or not finite')
  if (n.length !== g.sum.length) throw new Error(`embedding length mismatch: ${n.length} vs ${g.sum.length}`)
  const w = Math.max(0.05, Number.isFinite(quality) ? quality : 0)
  const sum = new Float32Array(g.sum.length)
  for (let i = 0; i < sum.length; i++) sum[i] = g.sum[i]! + w * n[i]!
  return { sum, count: g.count + 1 }
}

export function newGroup(e: Float32Array, quality = 1): GroupVector {
  return addToGroup({ sum: new Float32Array(e.length), count: 0 }, e, quality)
}

/** Merges two groups (an operator's "same person"). */
export function mergeGroups(a: GroupVector, b: GroupVector): GroupVector {
  if (a.sum.length !== b.sum.length) throw new Error('mergeGroups: dimension mismatch')
  const sum = new Float32Array(a.sum.length)
  for (let i = 0; i < sum.length; i++) sum[i] = a.sum[i]! + b.sum[i]!
  return { sum, count: a.count + b.count }
}

/** Clusters faces in arrival order, as the live groups would see them; returns a label per face. */
export function clusterOnline(
  faces: readonly { embedding: Float32Array; quality?: number }[],
  opts: ClusterOptions = DEFAULT_CLUSTER
): number[] {
  const groups: GroupVector[] = []
  return faces.map((f) => {
    const { index } = nearestGroup(f.embedding, groups, opts)
    if (index < 0) {
      groups.push(newGroup(f.embedding, f.quality))
      return groups.length - 1
    }
    groups[index] = addToGroup(groups[index]!, f.embedding, f.quality)
    return index
  })
}

// ---- scoring a clustering against true labels -------------------------------------------------

export interface ClusterScore {
  pairwisePrecision: number
  pairwiseRecall: number
  bcubedPrecision: number
  bcubedRecall: number
  bcubedF: number
}

/**
 * Pairwise precision/recall (pairs put together that belong together) and B-cubed precision,
 * recall and F (per item: the share of its cluster that is its class, the share of its class in
 * its cluster). Items are parallel arrays of predicted and true labels.
 */
export function scoreClustering(
  predicted: readonly (number | string)[],
  truth: readonly (number | string)[]
): ClusterScore {
  if (predicted.length !== truth.length) throw new Error(`${predicted.length} predictions for ${truth.length} labels`)
  const n = predicted.length
  if (n === 0) return { pairwisePrecision: 1, pairwiseRecall: 1, bcubedPrecision: 1, bcubedRecall: 1, bcubedF: 1 }
  const key = (p: number | string, t: number | string): string => `${String(p)}\u0000${String(t)}`
  const byPred = new Map<string, number>()
  const byTrue = new Map<string, number>()
  const byBoth = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const p = String(predicted[i])
    const t = String(truth[i])
    byPred.set(p, (byPred.get(p) ?? 0) + 1)
    byTrue.set(t, (byTrue.get(t) ?? 0) + 1)
    byBoth.set(key(p, t), (byBoth.get(key(p, t)) ?? 0) + 1)
  }
  const pairs = (c: number): number => (c * (c - 1)) / 2
  let together = 0
  let predPairs = 0
  let truePairs = 0
  for (const c of byBoth.values()) together += pairs(c)
  for (const c of byPred.values()) predPairs += pairs(c)
  for (const c of byTrue.values()) truePairs += pairs(c)
  let bp = 0
  let br = 0
  for (let i = 0; i < n; i++) {
    const p = String(predicted[i])
    const t = String(truth[i])
    const both = byBoth.get(key(p, t))!
    bp += both / byPred.get(p)!
    br += both / byTrue.get(t)!
  }
  bp /= n
  br /= n
  return {
    pairwisePrecision: predPairs ? together / predPairs : 1,
    pairwiseRecall: truePairs ? together / truePairs : 1,
    bcubedPrecision: bp,
    bcubedRecall: br,
    bcubedF: bp + br > 0 ? (2 * bp * br) / (bp + br) : 0
  }
}
