// The one place that decides what a track means. Per track it owns the evidence verdict (pooled
// decision), the rejection override, the rules for when an event is written or refreshed, when a
// face is queued for review, and what the Live overlay may show. The live processor keeps frame
// scheduling and persistence: it asks this module what to do and reports back what it stored.
// Pure: the matcher and the rejection memory come in as callbacks, time as `at`.
import type { MatchResult } from '../contracts'
import type { Band, Candidate } from '../../shared/types'
import { decideTrack, type DecideOptions, type PoolItem, type TrackDecision } from './pooling'

/** What the decider needs of a track (the tracker's Track satisfies it). */
export interface DecisionTrack {
  id: string
  firstSeen: number
  lastSeen: number
  /** embeddings received over the track's life */
  embeddings: number
  evidence: readonly PoolItem[]
  /** see Track.verified: the face in the box now is the one the evidence is about */
  verified: boolean
  confirmed: boolean
}

/** "Was `personId` rejected for this face?" — the review queue's memory, by track or by face. */
export type RejectionCheck = (q: { trackId: string; personId: string; embedding: Float32Array }) => boolean

export interface DeciderOptions extends DecideOptions {
  /** review decisions need this many embeddings before an event (default 3): tracks start blurred */
  minEmbeddingsForReview?: number
  /** a track still unknown after this long gets its event before it ends (default 10 s) */
  unknownAfterMs?: number
  /** an unchanged decision refreshes its event at most this often (default 1 s) */
  refreshMs?: number
  rejected?: RejectionCheck
  /**
   * The one quality gate (the gallery's enrolment gate): a review guess whose best crop fails it is
   * never queued; its event stays an unconfirmed guess ('auto', review band) instead of 'pending'.
   */
  queueGate?: (quality: number) => boolean
}

/** The verdict after overrides: what the event, the queue and the overlay use. */
export interface Verdict {
  band: Band
  personId: string | null
  personName: string | null
  /** the best candidate's similarity (0 floor for unknown) */
  score: number
  /** the person was proposed but an operator rejected them for this face */
  rejected: boolean
}

export interface WritePlan {
  /** event key within the track: the person id, '' for unknown */
  key: string
  verdict: Verdict
  /** first write for this key, or a better score than stored: worth new crop/snapshot */
  improved: boolean
  decision: 'pending' | 'auto'
  /** ask the operator (a review item for verdict.personId) */
  queue: boolean
  /** the pooled decision's candidates, best first (the review card shows them) */
  candidates: Candidate[]
}

export interface Finished {
  /** event keys to close at the track's last sighting */
  close: string[]
  /** the track's one event, when it never wrote one */
  plan: WritePlan | null
  /** what the track was in the end (null for blips): its sighting */
  last: { decision: TrackDecision; verdict: Verdict } | null
}

export interface OverlayLabel {
  band: Band
  personId: string | null
  name: string | null
  score: number
}

interface Memo {
  decision: TrackDecision | null
  verdict: Verdict | null
  /** best score stored per event key */
  stored: Map<string, number>
  /** when each key was last planned for writing */
  writtenAt: Map<string, number>
  /** persons this track has (or is getting) a review item for */
  queued: Set<string>
}

const UNKNOWN: Verdict = { band: 'unknown', personId: null, personName: null, score: 0, rejected: false }

export class TrackDecider {
  private readonly memos = new Map<string, Memo>()
  private readonly minReview: number
  private readonly unknownAfterMs: number
  private readonly refreshMs: number

  constructor(private readonly o: DeciderOptions = {}) {
    this.minReview = o.minEmbeddingsForReview ?? 3
    this.unknownAfterMs = o.unknownAfterMs ?? 10_000
    this.refreshMs = o.refreshMs ?? 1000
  }

  /**
   * New evidence arrived for the track: decide again and say whether an event is to be written.
   * Returns null when the evidence holds no embedding yet.
   */
  observe(
    track: DecisionTrack,
    match: (e: Float32Array) => MatchResult,
    at: number
  ): { decision: TrackDecision; verdict: Verdict; plan: WritePlan | null } | null {
    const d = decideTrack(track.evidence, match, this.o)
    if (!d) return null
    const memo = this.memo(track.id)
    const verdict = this.verdictOf(track.id, d)
    memo.decision = d
    memo.verdict = verdict
    return { decision: d, verdict, plan: this.plan(memo, track, verdict, at, false) }
  }

  /**
   * The track ended. Keys already written are to be closed at its last sighting (no new event on
   * the way out); a track that never wrote gets its one event now, if it was confirmed.
   */
  finish(track: DecisionTrack): Finished {
    const memo = this.memos.get(track.id)
    this.memos.delete(track.id)
    // blips (one detection) and tracks never embedded are not worth an event
    if (!memo?.verdict || !memo.decision || !track.confirmed) return { close: [], plan: null, last: null }
    const last = { decision: memo.decision, verdict: memo.verdict }
    if (memo.writtenAt.size > 0) return { close: [...memo.writtenAt.keys()], plan: null, last }
    return { close: [], plan: this.plan(memo, track, memo.verdict, track.lastSeen, true), last }
  }

  /**
   * The processor stored the key's event with new images at this score: later decisions only
   * replace them when better. (Plans are booked when made, so two frames in flight never both
   * count as the first write.)
   */
  stored(trackId: string, key: string, score: number): void {
    this.memos.get(trackId)?.stored.set(key, score)
  }

  /** Storing a planned write failed: the next decision tries again. */
  writeFailed(trackId: string, key: string): void {
    this.memos.get(trackId)?.writtenAt.delete(key)
  }

  /** Enqueueing a planned review item failed: the next decision tries again. */
  queueFailed(trackId: string, personId: string): void {
    this.memos.get(trackId)?.queued.delete(personId)
  }

  /** What the Live overlay may show for the track now: never a name the evidence does not back. */
  label(track: Pick<DecisionTrack, 'id' | 'verified'>): OverlayLabel {
    const v = this.memos.get(track.id)?.verdict
    if (!v) return { band: 'unknown', personId: null, name: null, score: 0 }
    if (!track.verified) return { band: 'unknown', personId: null, name: null, score: 0 }
    return { band: v.band, personId: v.personId, name: v.personName, score: v.score }
  }

  /** The last verdict (null before the first embedding). */
  verdict(trackId: string): Verdict | null {
    return this.memos.get(trackId)?.verdict ?? null
  }

  forget(trackId: string): void {
    this.memos.delete(trackId)
  }

  get size(): number {
    return this.memos.size
  }

  private memo(trackId: string): Memo {
    let m = this.memos.get(trackId)
    if (!m) {
      m = { decision: null, verdict: null, stored: new Map(), writtenAt: new Map(), queued: new Set() }
      this.memos.set(trackId, m)
    }
    return m
  }

  private verdictOf(trackId: string, d: TrackDecision): Verdict {
    const top = d.candidates[0]
    if (d.band === 'unknown' || !top) return { ...UNKNOWN, score: Math.max(0, top?.score ?? 0) }
    if (this.o.rejected?.({ trackId, personId: top.personId, embedding: d.pooled })) {
      return { ...UNKNOWN, score: Math.max(0, top.score), rejected: true }
    }
    return { band: d.band, personId: top.personId, personName: top.name, score: top.score, rejected: false }
  }

  /**
   * A match is acted on at once; review and unknown wait for enough evidence (a track often
   * starts blurred or turned away), unknown until the track ends or has been around a while.
   */
  private plan(memo: Memo, track: DecisionTrack, v: Verdict, at: number, ending: boolean): WritePlan | null {
    if (v.band === 'review' && !ending && track.embeddings < this.minReview) return null
    if (v.band === 'unknown') {
      // the track already has an event for a person: it stays that person's
      if (memo.writtenAt.size > 0 && !memo.writtenAt.has('')) return null
      if (!ending && at - track.firstSeen < this.unknownAfterMs) return null
    }
    const key = v.personId ?? ''
    const isNew = !memo.writtenAt.has(key)
    const improved = isNew || v.score > (memo.stored.get(key) ?? -1)
    if (!improved && !ending && at - (memo.writtenAt.get(key) ?? 0) < this.refreshMs) return null
    const bestQuality = Math.max(0, ...track.evidence.filter((e) => e.embedding).map((e) => e.quality.score))
    const askable = v.band === 'review' && v.personId !== null && (this.o.queueGate?.(bestQuality) ?? true)
    const queue = askable && v.personId !== null && (!memo.queued.has(v.personId) || improved)
    memo.writtenAt.set(key, at)
    if (queue && v.personId) memo.queued.add(v.personId)
    const candidates = memo.decision?.candidates ?? []
    return { key, verdict: v, improved, decision: askable ? 'pending' : 'auto', queue, candidates }
  }
}
