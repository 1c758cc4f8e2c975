// Recognition over a track instead of a frame: pool the best crops' embeddings ("average the
// predictions over frames"), match once, cross-check with a per-crop vote, and latch decisions so
// each track raises one event per person. Pure: the gallery comes in as a callback.
import type { MatchResult } from '../contracts'
import type { Band, Candidate } from '../../shared/types'
import { l2normalizeOrNull } from '../math/vector'

export interface PoolItem {
  embedding: Float32Array | null
  quality: { score: number }
}

/** Weight floor: a zero-quality crop still counts a little rather than vanishing or dividing by 0. */
const MIN_WEIGHT = 1e-3

/**
 * Quality-weighted mean of the L2-normalised embeddings, re-normalised. Items without an
 * embedding are skipped; null when nothing usable remains. Normalising first keeps one
 * high-norm crop from dominating; weighting by quality lets a sharp frontal crop outvote a
 * blurry profile.
 */
export function poolEmbeddings(items: readonly PoolItem[]): Float32Array | null {
  let acc: Float64Array | null = null
  let used = 0
  for (const it of items) {
    if (!it.embedding) continue
    const n = l2normalizeOrNull(it.embedding)
    if (!n) continue
    if (acc && acc.length !== n.length) throw new Error(`embedding length mismatch: ${acc.length} vs ${n.length}`)
    acc ??= new Float64Array(n.length)
    const w = Math.max(MIN_WEIGHT, Number.isFinite(it.quality.score) ? it.quality.score : 0)
    for (let i = 0; i < n.length; i++) acc[i] = acc[i]! + w * n[i]!
    used++
  }
  if (!acc || !used) return null
  return l2normalizeOrNull(Float32Array.from(acc))
}

export interface Vote {
  personId: string
  name: string
  /** crops whose best candidate is this person */
  votes: number
  /** sum of those crops' quality weights */
  weight: number
  /** best similarity this person reached over the crops */
  bestScore: number
}

/**
 * Per-crop majority: each result votes for its top candidate with its weight (default 1).
 * Results with no candidate (empty gallery, 'unknown' with nothing above floor) do not vote.
 * Sorted by weight, then votes, then best score.
 */
export function voteCandidates(results: readonly MatchResult[], weights?: readonly number[]): Vote[] {
  if (weights && weights.length !== results.length)
    throw new Error(`${weights.length} weights for ${results.length} results`)
  const by = new Map<string, Vote>()
  results.forEach((r, i) => {
    const top = r.candidates[0]
    if (!top) return
    const w = Math.max(MIN_WEIGHT, weights?.[i] ?? 1)
    const v = by.get(top.personId) ?? { personId: top.personId, name: top.name, votes: 0, weight: 0, bestScore: -1 }
    v.votes++
    v.weight += w
    v.bestScore = Math.max(v.bestScore, top.score)
    by.set(top.personId, v)
  })
  return [...by.values()].sort((a, b) => b.weight - a.weight || b.votes - a.votes || b.bestScore - a.bestScore)
}

export interface DecideOptions {
  /**
   * A pooled 'match' whose person won less than this share of the per-crop vote weight is
   * downgraded to 'review': the crops disagree, so the average is not to be trusted (default 0.5).
   * 0 disables the cross-check (and the per-crop matching it costs).
   */
  minAgreement?: number
}

export interface TrackDecision extends MatchResult {
  /** the pooled embedding that was matched */
  pooled: Float32Array
  /** crops that contributed an embedding */
  used: number
  /** share of vote weight for the pooled best candidate; null when not checked (one crop, or disabled) */
  agreement: number | null
  votes: Vote[]
  /** true when the pooled band was 'match' but the vote disagreed */
  downgraded: boolean
}

/**
 * Decides a track from its evidence with any matcher (the gallery implementation stays outside).
 * Returns null when the evidence holds no embedding yet.
 */
export function decideTrack(
  evidence: readonly PoolItem[],
  match: (embedding: Float32Array) => MatchResult,
  opts: DecideOptions = {}
): TrackDecision | null {
  const pooled = poolEmbeddings(evidence)
  if (!pooled) return null
  const usable = evidence.filter((e) => e.embedding && l2normalizeOrNull(e.embedding))
  const res = match(pooled)
  const minAgreement = opts.minAgreement ?? 0.5
  let agreement: number | null = null
  let votes: Vote[] = []
  let band: Band = res.band
  let downgraded = false
  const top: Candidate | undefined = res.candidates[0]
  if (minAgreement > 0 && usable.length >= 2 && top) {
    const per = usable.map((e) => match(e.embedding!))
    votes = voteCandidates(
      per,
      usable.map((e) => e.quality.score)
    )
    const total = votes.reduce((s, v) => s + v.weight, 0)
    const mine = votes.find((v) => v.personId === top.personId)?.weight ?? 0
    agreement = total > 0 ? mine / total : 0
    if (band === 'match' && agreement < minAgreement) {
      band = 'review'
      downgraded = true
    }
  }
  return {
    band,
    candidates: res.candidates,
    score: res.score,
    pooled,
    used: usable.length,
    agreement,
    votes,
    downgraded
  }
}
