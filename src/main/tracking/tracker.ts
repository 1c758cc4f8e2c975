// Per-camera face tracker: turns per-frame detections into tracks (one per person passing by),
// so recognition can pool evidence over frames and raise one event per track instead of one per
// frame. Pure: time comes in as `at`, nothing here touches I/O.
import type { DetectedFace } from '../contracts'
import type { Box, FaceQuality } from '../../shared/types'
import { l2normalize } from '../math/vector'
import { assignMinCost, centreDistance, cosine, iou } from './assign'

export interface TrackerOptions {
  /** a track ends after this long without a face (default 2000 ms) */
  maxAgeMs?: number
  /** best-quality crops kept per track (default 3) */
  keep?: number
  /** a pair with IoU below this needs the embedding to vouch for it (default 0.2) */
  minIou?: number
  /** similarity at/above which appearance alone may link a face to a track that moved (default 0.5) */
  appearanceLink?: number
  /** how far (in mean box diagonals, from the predicted box) appearance alone may link (default 2.5) */
  maxJump?: number
  /** similarity below which a pair is refused even with full overlap: two people crossing (default 0.15) */
  vetoBelow?: number
  /** weight of appearance vs overlap in the combined cost when both are known (default 0.5) */
  appearanceWeight?: number
  /** per track: minimum ms between embeddings once a decision exists (default 500 → ≤ 2/s) */
  embedIntervalMs?: number
  /** per track: minimum ms between embeddings while undecided (default 250 → ≤ 4/s) */
  undecidedEmbedIntervalMs?: number
  /** hits before a track counts as confirmed (default 2): single-frame blips are false detections */
  minHits?: number
}

/** One face observation kept as evidence; `ref` is the caller's handle (crop image, frame ref…). */
export interface Evidence<R> {
  at: number
  box: Box
  quality: FaceQuality
  embedding: Float32Array | null
  ref: R | undefined
}

export interface Track<R> {
  readonly id: string
  readonly cameraId: string
  /** last observed box, detection-frame coordinates */
  readonly box: Box
  readonly hits: number
  readonly firstSeen: number
  readonly lastSeen: number
  /** best first: embedded evidence outranks evidence without embedding, then quality.score */
  readonly evidence: readonly Evidence<R>[]
  /** embeddings received over the track's life */
  readonly embeddings: number
  readonly lastEmbedAt: number | null
  /** set by the caller (markDecided) once recognition has reached a verdict */
  readonly decided: boolean
  readonly confirmed: boolean
}

export interface TrackUpdate<R> {
  at: number
  /** per input face (same order): the track it now belongs to */
  assigned: Track<R>[]
  created: Track<R>[]
  /** tracks that timed out in this update; they are gone from the tracker */
  ended: Track<R>[]
  /** live tracks after the update, seen in this frame or not */
  active: Track<R>[]
  /** caller refs no longer held by any track (never kept, or pushed out of a best-K) */
  released: R[]
}

interface TrackState<R> {
  id: string
  cameraId: string
  box: Box
  hits: number
  firstSeen: number
  lastSeen: number
  evidence: Evidence<R>[]
  embeddings: number
  lastEmbedAt: number | null
  decided: boolean
  confirmed: boolean
  /** running appearance for association: EMA of normalised embeddings */
  appearance: Float32Array | null
  /** box centre velocity, px/ms, smoothed */
  vx: number
  vy: number
}

const APPEARANCE_EMA = 0.3
const VELOCITY_EMA = 0.5
/** prediction horizon cap: extrapolating further than this invents motion */
const MAX_PREDICT_MS = 1000

export class FaceTracker<R = unknown> {
  private readonly o: Required<TrackerOptions>
  private readonly tracks = new Map<string, TrackState<R>>()
  private next = 1
  private lastAt = -Infinity

  constructor(
    readonly cameraId: string,
    opts: TrackerOptions = {}
  ) {
    if (!cameraId) throw new Error('FaceTracker needs a camera id')
    this.o = {
      maxAgeMs: opts.maxAgeMs ?? 2000,
      keep: opts.keep ?? 3,
      minIou: opts.minIou ?? 0.2,
      appearanceLink: opts.appearanceLink ?? 0.5,
      maxJump: opts.maxJump ?? 2.5,
      vetoBelow: opts.vetoBelow ?? 0.15,
      appearanceWeight: opts.appearanceWeight ?? 0.5,
      embedIntervalMs: opts.embedIntervalMs ?? 500,
      undecidedEmbedIntervalMs: opts.undecidedEmbedIntervalMs ?? 250,
      minHits: opts.minHits ?? 2
    }
    if (this.o.keep < 1) throw new Error('keep must be ≥ 1')
    if (this.o.maxAgeMs <= 0) throw new Error('maxAgeMs must be > 0')
  }

  /**
   * Associates this frame's faces with the live tracks, creates tracks for the rest and ends
   * tracks not seen for maxAgeMs. `refs[i]` is an optional caller handle stored with faces[i]'s
   * evidence when it makes a track's best-K; handles that are not kept come back in `released`.
   */
  update(faces: readonly DetectedFace[], at: number, refs?: readonly (R | undefined)[]): TrackUpdate<R> {
    if (!Number.isFinite(at)) throw new TypeError(`update: time must be a finite number, got ${String(at)}`)
    if (refs && refs.length !== faces.length)
      throw new TypeError(`update: ${refs.length} refs for ${faces.length} faces`)
    faces.forEach((f, i) => checkFace(f, i))
    // a clock step backwards (NTP) must not make ages negative
    const now = Math.max(at, this.lastAt)
    this.lastAt = now
    const released: R[] = []

    const ended = this.expire(now)
    const live = [...this.tracks.values()]
    const cost = live.map((t) => faces.map((f) => this.pairCost(t, f, now)))
    const pairs = assignMinCost(cost)

    const assigned: TrackState<R>[] = new Array<TrackState<R>>(faces.length)
    for (const [ti, fi] of pairs) {
      const t = live[ti]!
      this.observe(t, faces[fi]!, now, refs?.[fi], released)
      assigned[fi] = t
    }
    const created: TrackState<R>[] = []
    faces.forEach((f, fi) => {
      if (assigned[fi]) return
      const t = this.create(f, now)
      this.observe(t, f, now, refs?.[fi], released)
      assigned[fi] = t
      created.push(t)
    })
    return {
      at: now,
      assigned: assigned.map(view),
      created: created.map(view),
      ended,
      active: [...this.tracks.values()].map(view),
      released
    }
  }

  /** The caller reached a verdict for the track (slower embedding from now on), or took it back. */
  markDecided(trackId: string, decided = true): void {
    const t = this.tracks.get(trackId)
    if (t) t.decided = decided
  }

  /**
   * Embedding-rate policy: true when a new embedding for this track is worth its cost now —
   * always for a track without one, then at most every undecidedEmbedIntervalMs while undecided
   * and every embedIntervalMs once decided.
   */
  shouldEmbed(track: Pick<Track<R>, 'id'>, at: number): boolean {
    const t = this.tracks.get(track.id)
    if (!t) return false
    if (t.lastEmbedAt === null) return true
    const interval = t.decided ? this.o.embedIntervalMs : this.o.undecidedEmbedIntervalMs
    return at - t.lastEmbedAt >= interval
  }

  get(trackId: string): Track<R> | null {
    const t = this.tracks.get(trackId)
    return t ? view(t) : null
  }

  active(): Track<R>[] {
    return [...this.tracks.values()].map(view)
  }

  /** Ends every track (camera stopped); returns them so the caller can finish their events. */
  flush(): Track<R>[] {
    const all = [...this.tracks.values()].map(view)
    this.tracks.clear()
    return all
  }

  // ---- internals -----------------------------------------------------------------------------

  private expire(now: number): Track<R>[] {
    const ended: Track<R>[] = []
    for (const [id, t] of this.tracks) {
      if (now - t.lastSeen > this.o.maxAgeMs) {
        this.tracks.delete(id)
        // evidence refs go out with the ended track: the caller still needs its best crop
        ended.push(view(t))
      }
    }
    return ended
  }

  private predicted(t: TrackState<R>, now: number): Box {
    const dt = Math.min(MAX_PREDICT_MS, Math.max(0, now - t.lastSeen))
    return { x: t.box.x + t.vx * dt, y: t.box.y + t.vy * dt, w: t.box.w, h: t.box.h }
  }

  /** Combined cost in [0, 1], Infinity for pairs that must not be linked. */
  private pairCost(t: TrackState<R>, f: DetectedFace, now: number): number {
    const pred = this.predicted(t, now)
    const overlap = Math.max(iou(pred, f.box), iou(t.box, f.box))
    const sim = t.appearance && f.embedding ? cosine(t.appearance, f.embedding) : null
    if (sim !== null && sim < this.o.vetoBelow) return Infinity
    if (overlap < this.o.minIou) {
      // no overlap: only a confident appearance match close enough may link (fast motion, dropped frames)
      if (sim === null || sim < this.o.appearanceLink) return Infinity
      if (centreDistance(pred, f.box) > this.o.maxJump) return Infinity
    }
    if (sim === null) return 1 - overlap
    const w = this.o.appearanceWeight
    return 1 - ((1 - w) * overlap + w * Math.max(0, sim))
  }

  private create(f: DetectedFace, now: number): TrackState<R> {
    const t: TrackState<R> = {
      id: `${this.cameraId}-${this.next++}`,
      cameraId: this.cameraId,
      box: { ...f.box },
      hits: 0,
      firstSeen: now,
      lastSeen: now,
      evidence: [],
      embeddings: 0,
      lastEmbedAt: null,
      decided: false,
      confirmed: false,
      appearance: null,
      vx: 0,
      vy: 0
    }
    this.tracks.set(t.id, t)
    return t
  }

  private observe(t: TrackState<R>, f: DetectedFace, now: number, ref: R | undefined, released: R[]): void {
    if (t.hits > 0) {
      const dt = now - t.lastSeen
      if (dt > 0) {
        const vx = (f.box.x + f.box.w / 2 - (t.box.x + t.box.w / 2)) / dt
        const vy = (f.box.y + f.box.h / 2 - (t.box.y + t.box.h / 2)) / dt
        // the first measured step is the only estimate there is; later ones are smoothed
        const a = t.hits === 1 ? 1 : VELOCITY_EMA
        t.vx = a * vx + (1 - a) * t.vx
        t.vy = a * vy + (1 - a) * t.vy
      }
    }
    t.box = { ...f.box }
    t.hits++
    t.lastSeen = now
    if (t.hits >= this.o.minHits) t.confirmed = true
    if (f.embedding) this.noteEmbedding(t, f.embedding, now)
    this.keepEvidence(t, { at: now, box: { ...f.box }, quality: f.quality, embedding: f.embedding, ref }, released)
  }

  private noteEmbedding(t: TrackState<R>, e: Float32Array, at: number): void {
    t.embeddings++
    t.lastEmbedAt = at
    const n = l2normalize(e)
    if (!t.appearance) {
      t.appearance = n
      return
    }
    if (t.appearance.length !== n.length)
      throw new Error(`embedding length changed: ${t.appearance.length} → ${n.length}`)
    const a = t.appearance
    for (let i = 0; i < a.length; i++) a[i] = (1 - APPEARANCE_EMA) * a[i]! + APPEARANCE_EMA * n[i]!
    t.appearance = l2normalize(a)
  }

  private keepEvidence(t: TrackState<R>, e: Evidence<R>, released: R[]): void {
    t.evidence.push(e)
    t.evidence.sort(evidenceOrder)
    while (t.evidence.length > this.o.keep) {
      const out = t.evidence.pop()!
      if (out.ref !== undefined) released.push(out.ref)
    }
  }
}

function evidenceOrder<R>(a: Evidence<R>, b: Evidence<R>): number {
  const ea = a.embedding ? 1 : 0
  const eb = b.embedding ? 1 : 0
  if (ea !== eb) return eb - ea
  if (b.quality.score !== a.quality.score) return b.quality.score - a.quality.score
  // equal quality: the newer observation is the better picture of the person now
  return b.at - a.at
}

function checkFace(f: DetectedFace, i: number): void {
  const b = f.box
  if (!b || ![b.x, b.y, b.w, b.h].every(Number.isFinite) || b.w <= 0 || b.h <= 0) {
    throw new TypeError(`update: face ${i} has an invalid box ${JSON.stringify(b)}`)
  }
  if (!f.quality || !Number.isFinite(f.quality.score)) throw new TypeError(`update: face ${i} has no quality score`)
}

function view<R>(t: TrackState<R>): Track<R> {
  return {
    id: t.id,
    cameraId: t.cameraId,
    box: { ...t.box },
    hits: t.hits,
    firstSeen: t.firstSeen,
    lastSeen: t.lastSeen,
    evidence: [...t.evidence],
    embeddings: t.embeddings,
    lastEmbedAt: t.lastEmbedAt,
    decided: t.decided,
    confirmed: t.confirmed
  }
}
