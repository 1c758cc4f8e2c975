// Recognition over a track instead of a frame: pool the best crops' embeddings ("average the
// predictions over frames"), match once, cross-check with a per-crop vote, and latch decisions so
// each track raises one event per person. Pure: the gallery comes in as a callback.
import type { MatchResult } from '../contracts'
import type { Band, Candidate } from '../../shared/types'

export interface PoolItem {
  embedding: Float32Array | null
  quality: { score: number }
}

/** Weight floor: a zero-quality crop still counts a little rather than vanishing or dividing by 0. */
const MIN_WEIGHT = 1e-3

/** Unit-length copy; null for a zero or non-finite vector. */
export function l2normalize(v: Float32Array): Float32Array | null {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  if (!(s > 0) || !Number.isFinite(s)) return null
  const k = 1 / Math.sqrt(s)
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * k
  return out
}

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
    const n = l2normalize(it.embedding)
    if (!n) continue
    if (acc && acc.length !== n.length) throw new Error(`embedding length mismatch: ${acc.length} vs ${n.length}`)
    acc ??= new Float64Array(n.length)
    const w = Math.max(MIN_WEIGHT, Number.isFinite(it.quality.score) ? it.quality.score : 0)
    for (let i = 0; i < n.length; i++) acc[i] = acc[i]! + w * n[i]!
    used++
  }
  if (!acc || !used) return null
  return l2normalize(Float32Array.from(acc))
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
  const usable = evidence.filter((e) => e.embedding && l2normalize(e.embedding))
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

// ---- one event per track and person ------------------------------------------------------------

export interface LatchInput {
  band: Band
  /** the best candidate for 'match'/'review', null for 'unknown' */
  personId: string | null
  score: number
}

export type LatchKind =
  /** first decision of the track: create an event */
  | 'new'
  /** same event, refine it (band, score, person when an unknown/review event gets resolved) */
  | 'update'
  /** a different person is now established: the track's current event is eventKey (create it
   *  unless you already have an event for that key — the track came back to an earlier person) */
  | 'change'
  /** nothing to do: weaker evidence than the established match, or a switch not yet confirmed */
  | 'hold'

export interface LatchResult {
  kind: LatchKind
  eventKey: string
  /** person the event is about now (null: still unknown) */
  personId: string | null
  /** for 'change': the person of the previous event */
  previousPersonId: string | null
  /** score above the event's best so far, or a better band: worth a new crop/snapshot */
  improved: boolean
}

interface EventState {
  key: string
  personId: string | null
  /** a 'match' has established the person; before that the person is tentative */
  confirmed: boolean
  bestScore: number
  bestBand: Band
}

interface TrackLatch {
  current: EventState
  /** events of this track by confirmed person, so A → B → A returns to A's event */
  byPerson: Map<string, EventState>
  pending: { personId: string; count: number } | null
  n: number
}

const BAND_RANK: Record<Band, number> = { unknown: 0, review: 1, match: 2 }

export interface LatchOptions {
  /** consecutive 'match' decisions for another person before the track switches (default 2) */
  switchAfter?: number
}

/**
 * Turns a stream of per-track decisions into event operations: one event per track and person.
 * An unknown or review event is refined in place as evidence improves (unknown → review → match
 * of the same event). Once a match has established a person, weaker decisions are held rather
 * than un-identifying the event, and a different person needs `switchAfter` consecutive matches
 * (rare: a tracker ID switch or a look-alike) before a new event is opened for them.
 */
export class DecisionLatch {
  private readonly tracks = new Map<string, TrackLatch>()
  private readonly switchAfter: number

  constructor(opts: LatchOptions = {}) {
    this.switchAfter = Math.max(1, opts.switchAfter ?? 2)
  }

  observe(trackId: string, d: LatchInput): LatchResult {
    if (!trackId) throw new Error('observe: track id is empty')
    if (!Number.isFinite(d.score)) throw new Error(`observe: score must be finite, got ${String(d.score)}`)
    if (d.band !== 'unknown' && !d.personId) throw new Error(`observe: band '${d.band}' needs a personId`)
    const personId = d.band === 'unknown' ? null : d.personId
    const t = this.tracks.get(trackId)
    if (!t) {
      const ev = this.open(trackId, 1, personId, d)
      const tl: TrackLatch = { current: ev, byPerson: new Map(), pending: null, n: 1 }
      if (ev.confirmed && personId) tl.byPerson.set(personId, ev)
      this.tracks.set(trackId, tl)
      return { kind: 'new', eventKey: ev.key, personId: ev.personId, previousPersonId: null, improved: true }
    }

    const ev = t.current
    if (!ev.confirmed) {
      // tentative event: any decision refines it; a match establishes its person
      t.pending = null
      const improved = this.better(ev, d)
      if (personId && (d.band === 'match' || BAND_RANK[d.band] >= BAND_RANK[ev.bestBand])) ev.personId = personId
      // (a tentative event is always the track's first: confirmed events never fall back to tentative)
      if (d.band === 'match' && personId) {
        ev.confirmed = true
        t.byPerson.set(personId, ev)
      }
      return { kind: 'update', eventKey: ev.key, personId: ev.personId, previousPersonId: null, improved }
    }

    if (d.band !== 'match' || !personId) {
      t.pending = null
      return { kind: 'hold', eventKey: ev.key, personId: ev.personId, previousPersonId: null, improved: false }
    }
    if (personId === ev.personId) {
      t.pending = null
      const improved = this.better(ev, d)
      return { kind: 'update', eventKey: ev.key, personId, previousPersonId: null, improved }
    }
    // a match for someone else: only believed when it persists
    t.pending = t.pending?.personId === personId ? { personId, count: t.pending.count + 1 } : { personId, count: 1 }
    if (t.pending.count < this.switchAfter) {
      return { kind: 'hold', eventKey: ev.key, personId: ev.personId, previousPersonId: null, improved: false }
    }
    t.pending = null
    const previousPersonId = ev.personId
    let next = t.byPerson.get(personId)
    if (!next) {
      t.n++
      next = this.open(trackId, t.n, personId, d)
      t.byPerson.set(personId, next)
    } else {
      this.better(next, d)
    }
    t.current = next
    return { kind: 'change', eventKey: next.key, personId, previousPersonId, improved: true }
  }

  /** Current event key of a track, or null. */
  current(trackId: string): { eventKey: string; personId: string | null; confirmed: boolean } | null {
    const t = this.tracks.get(trackId)
    return t ? { eventKey: t.current.key, personId: t.current.personId, confirmed: t.current.confirmed } : null
  }

  /** Forgets an ended track; returns the keys of all events it raised. */
  end(trackId: string): string[] {
    const t = this.tracks.get(trackId)
    if (!t) return []
    this.tracks.delete(trackId)
    const keys = new Set<string>([t.current.key, ...[...t.byPerson.values()].map((e) => e.key)])
    return [...keys]
  }

  get size(): number {
    return this.tracks.size
  }

  private open(trackId: string, n: number, personId: string | null, d: LatchInput): EventState {
    return {
      key: `${trackId}#${n}`,
      personId,
      confirmed: d.band === 'match' && personId !== null,
      bestScore: d.score,
      bestBand: d.band
    }
  }

  private better(ev: EventState, d: LatchInput): boolean {
    const bandUp = BAND_RANK[d.band] > BAND_RANK[ev.bestBand]
    const scoreUp = d.score > ev.bestScore
    if (bandUp) ev.bestBand = d.band
    if (scoreUp) ev.bestScore = d.score
    return bandUp || scoreUp
  }
}
