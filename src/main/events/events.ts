// Event history: one record per (camera, track, person-or-unknown) that is kept up to date while the
// track lives, instead of one record per analysed frame. Records are in the store (db.json); their
// crop and snapshot JPEGs are media files.
import { randomUUID } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { ApiError } from '../../shared/api'
import type { Band, Box, EventDecision, EventQuery, EventRecord, EventStats, MediaKey, Page } from '../../shared/types'
import type { Store } from '../store/db'
import { dayOf, type MediaKind, type MediaStore } from '../store/media'
import { DEFAULT_LIMIT, computeStats, filterSorted, paginate, toCsv } from './query'
import { silentLogger, type Logger } from '../log/logger'

export interface TrackEventInput {
  cameraId: string
  trackId: string
  band: Band
  personId: string | null
  personName: string | null
  /** similarity of the best candidate, 0..1 */
  score: number
  /** in source-frame pixels */
  box: Box
  /** epoch ms of the frame */
  at: number
  /** JPEG of the face; stored when the event is new or this frame scores better */
  crop?: Buffer
  /** JPEG of the whole frame, box drawn; stored like crop */
  snapshot?: Buffer
  reviewItemId?: string
  decision: EventDecision
}

/** What the review queue changes when an operator decides. */
export type EventPatch = Partial<Pick<EventRecord, 'decision' | 'personId' | 'personName' | 'band' | 'reviewItemId'>>

export interface EventLogOptions {
  /** the same track id seen after this long a silence starts a new event (tracker ids restart with the app) */
  trackGapMs?: number
  /** live updates that change nothing an operator relies on are written at most this often */
  lazyWriteMs?: number
  logger?: Logger
}

export interface PurgeResult {
  events: number
  files: number
  /** review items removed with their events */
  reviews: number
}

const BANDS: readonly Band[] = ['match', 'review', 'unknown']
const DECISIONS: readonly EventDecision[] = ['auto', 'pending', 'confirmed', 'rejected', 'reassigned']
/** Decisions made by a person; camera updates never overwrite them. */
const OPERATOR_DECISIONS: readonly EventDecision[] = ['confirmed', 'rejected', 'reassigned']
const DAY_MS = 86_400_000
/** Kinds whose day folders retention may sweep; photos and thumbs belong to the gallery. */
const SWEPT_KINDS: readonly MediaKind[] = ['crops', 'snapshots']

const bad = (msg: string): ApiError => new ApiError('invalid_request', msg)
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200
const isBox = (b: unknown): b is Box => {
  if (typeof b !== 'object' || b === null) return false
  const o = b as Record<string, unknown>
  return ['x', 'y', 'w', 'h'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]))
}

export function trackKey(cameraId: string, trackId: string, personId: string | null): string {
  // \u0001 for "unknown" so a person whose id is literally "unknown" cannot collide
  return `${cameraId}\u0000${trackId}\u0000${personId ?? '\u0001'}`
}

function checkInput(e: TrackEventInput): void {
  if (typeof e !== 'object' || e === null) throw bad('track event must be an object')
  if (!isId(e.cameraId)) throw bad('track event: cameraId must be a non-empty string')
  if (!isId(e.trackId)) throw bad('track event: trackId must be a non-empty string')
  if (!BANDS.includes(e.band)) throw bad(`track event: band must be one of ${BANDS.join(', ')}`)
  if (e.personId !== null && !isId(e.personId)) throw bad('track event: personId must be a non-empty string or null')
  if (e.personName !== null && typeof e.personName !== 'string')
    throw bad('track event: personName must be a string or null')
  if (typeof e.score !== 'number' || !Number.isFinite(e.score)) throw bad('track event: score must be a finite number')
  if (!isBox(e.box)) throw bad('track event: box must have finite x, y, w, h')
  if (typeof e.at !== 'number' || !Number.isFinite(e.at) || e.at < 0) throw bad('track event: at must be epoch ms')
  if (e.crop !== undefined && !Buffer.isBuffer(e.crop)) throw bad('track event: crop must be a Buffer')
  if (e.snapshot !== undefined && !Buffer.isBuffer(e.snapshot)) throw bad('track event: snapshot must be a Buffer')
  if (e.reviewItemId !== undefined && !isId(e.reviewItemId))
    throw bad('track event: reviewItemId must be a non-empty string')
  if (!DECISIONS.includes(e.decision)) throw bad(`track event: decision must be one of ${DECISIONS.join(', ')}`)
}

function checkPatch(p: EventPatch): void {
  if (typeof p !== 'object' || p === null) throw bad('event patch must be an object')
  if (p.decision !== undefined && !DECISIONS.includes(p.decision))
    throw bad(`event patch: decision must be one of ${DECISIONS.join(', ')}`)
  if (p.band !== undefined && !BANDS.includes(p.band)) throw bad(`event patch: band must be one of ${BANDS.join(', ')}`)
  if (p.personId !== undefined && p.personId !== null && !isId(p.personId))
    throw bad('event patch: personId must be a non-empty string or null')
  if (p.personName !== undefined && p.personName !== null && typeof p.personName !== 'string')
    throw bad('event patch: personName must be a string or null')
  if (p.reviewItemId !== undefined && p.reviewItemId !== null && !isId(p.reviewItemId))
    throw bad('event patch: reviewItemId must be a non-empty string or null')
}

const cloneEvent = (e: EventRecord): EventRecord => ({ ...e, box: { ...e.box } })

export class EventLog {
  private readonly store: Store
  private readonly media: MediaStore
  private readonly trackGapMs: number
  private readonly lazyWriteMs: number
  private readonly logger: Logger
  /** the event currently collecting each track key */
  private readonly live = new Map<string, EventRecord>()
  /** per-key promise chain: two frames of one track must not both create an event */
  private readonly chains = new Map<string, Promise<void>>()
  /** media written but not yet referenced from the db: retention must not sweep them */
  private readonly uncommitted = new Set<MediaKey>()
  private readonly listeners = new Set<(e: EventRecord, created: boolean) => void>()

  constructor(store: Store, media: MediaStore, opts: EventLogOptions = {}) {
    this.store = store
    this.media = media
    this.trackGapMs = opts.trackGapMs ?? 30_000
    this.lazyWriteMs = opts.lazyWriteMs ?? 1000
    this.logger = opts.logger ?? silentLogger
    // after a restart, a track that is still being reported keeps its event (within trackGapMs)
    for (const e of store.data.events) {
      const k = trackKey(e.cameraId, e.trackId, e.personId)
      const cur = this.live.get(k)
      if (!cur || cur.updatedAt <= e.updatedAt) this.live.set(k, e)
    }
  }

  /** Called after every upsert and update with a copy of the record. Returns unsubscribe. */
  subscribe(listener: (e: EventRecord, created: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Creates the event of a (camera, track, person) or updates it. New events, new review links and
   * changed decisions are on disk when this resolves; plain live updates (time, better score and
   * crop) are written within lazyWriteMs so a 5 fps camera does not rewrite db.json 5 times a second.
   * Operator decisions (confirmed/rejected/reassigned) are never overwritten by camera updates.
   */
  upsertTrackEvent(e: TrackEventInput): Promise<{ event: EventRecord; created: boolean }> {
    try {
      checkInput(e)
    } catch (err) {
      return Promise.reject(err)
    }
    const key = trackKey(e.cameraId, e.trackId, e.personId)
    return this.serial(key, () => this.upsertNow(key, e))
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve()
    const p = prev.then(fn)
    const tail = p.then(
      () => undefined,
      () => undefined
    )
    this.chains.set(key, tail)
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key)
    })
    return p
  }

  private async upsertNow(key: string, e: TrackEventInput): Promise<{ event: EventRecord; created: boolean }> {
    const pre = this.findLive(key, e.at)
    const improves = !pre || e.score > pre.score
    const cropKey = e.crop && (improves || pre?.crop === null) ? await this.putMedia('crops', e.crop, e.at) : null
    let snapKey: MediaKey | null
    try {
      snapKey =
        e.snapshot && (improves || pre?.snapshot === null) ? await this.putMedia('snapshots', e.snapshot, e.at) : null
    } catch (err) {
      if (cropKey) await this.dropUncommitted([cropKey])
      throw err
    }
    const newKeys = [cropKey, snapKey].filter((k): k is MediaKey => k !== null)

    // re-read: retention may have removed the event while the files were written
    const ev = this.findLive(key, e.at)
    if (!ev) {
      const rec: EventRecord = {
        id: randomUUID(),
        cameraId: e.cameraId,
        trackId: e.trackId,
        band: e.band,
        personId: e.personId,
        personName: e.personName,
        score: e.score,
        decision: e.decision,
        startedAt: e.at,
        updatedAt: e.at,
        box: { ...e.box },
        crop: cropKey,
        snapshot: snapKey,
        reviewItemId: e.reviewItemId ?? null
      }
      this.store.data.events.push(rec)
      this.live.set(key, rec)
      this.pruneLive(e.at)
      try {
        await this.store.write()
      } finally {
        // the record is in memory either way; a failed write is retried by the next one
        for (const k of newKeys) this.uncommitted.delete(k)
      }
      this.emit(rec, true)
      return { event: cloneEvent(rec), created: true }
    }

    const superseded: MediaKey[] = []
    const operatorDecided = OPERATOR_DECISIONS.includes(ev.decision)
    let durable = false
    if (e.score > ev.score) {
      ev.score = e.score
      ev.box = { ...e.box }
      if (!operatorDecided) ev.band = e.band
    }
    if (cropKey) {
      if (ev.crop) superseded.push(ev.crop)
      ev.crop = cropKey
    }
    if (snapKey) {
      if (ev.snapshot) superseded.push(ev.snapshot)
      ev.snapshot = snapKey
    }
    ev.updatedAt = Math.max(ev.updatedAt, e.at)
    ev.startedAt = Math.min(ev.startedAt, e.at)
    if (!operatorDecided && e.personName !== null) ev.personName = e.personName
    if (e.reviewItemId !== undefined && ev.reviewItemId === null) {
      ev.reviewItemId = e.reviewItemId
      durable = true
    }
    // 'pending' sticks until an operator decides: a later confident frame must not pull the event
    // out of the review queue
    if (!operatorDecided && e.decision !== ev.decision && !(ev.decision === 'pending' && e.decision === 'auto')) {
      ev.decision = e.decision
      durable = true
    }
    const written = durable ? this.store.write() : this.store.writeSoon(this.lazyWriteMs)
    const afterWrite = written.then(
      async () => {
        for (const k of newKeys) this.uncommitted.delete(k)
        await this.removeUnreferenced(superseded)
      },
      (err: unknown) => {
        for (const k of newKeys) this.uncommitted.delete(k)
        throw err
      }
    )
    if (durable) await afterWrite
    else
      afterWrite.catch((err: unknown) =>
        this.logger.error(`[events] deferred write failed: ${err instanceof Error ? err.message : String(err)}`)
      )
    this.emit(ev, false)
    return { event: cloneEvent(ev), created: false }
  }

  private async putMedia(kind: MediaKind, jpeg: Buffer, at: number): Promise<MediaKey> {
    const key = await this.media.put(kind, jpeg, at)
    this.uncommitted.add(key)
    return key
  }

  private async dropUncommitted(keys: MediaKey[]): Promise<void> {
    for (const k of keys) {
      this.uncommitted.delete(k)
      await this.media.remove(k).catch(() => false)
    }
  }

  private findLive(key: string, at: number): EventRecord | null {
    const ev = this.live.get(key)
    if (!ev) return null
    if (at - ev.updatedAt > this.trackGapMs || !this.present(ev)) {
      this.live.delete(key)
      return null
    }
    return ev
  }

  /** Live events are near the end of the array, so scanning backwards is short. */
  private present(ev: EventRecord): boolean {
    const a = this.store.data.events
    for (let i = a.length - 1; i >= 0; i--) if (a[i] === ev) return true
    return false
  }

  private pruneLive(now: number): void {
    if (this.live.size < 2000) return
    for (const [k, ev] of this.live) if (now - ev.updatedAt > this.trackGapMs) this.live.delete(k)
  }

  private emit(ev: EventRecord, created: boolean): void {
    for (const l of this.listeners) {
      try {
        l(cloneEvent(ev), created)
      } catch (err) {
        this.logger.error(`[events] listener failed: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  }

  get(id: string): EventRecord | null {
    const a = this.store.data.events
    for (let i = a.length - 1; i >= 0; i--) if (a[i].id === id) return cloneEvent(a[i])
    return null
  }

  /** Operator decisions from the review queue; on disk when this resolves. */
  async update(id: string, patch: EventPatch): Promise<EventRecord> {
    if (!isId(id)) throw bad('event id must be a non-empty string')
    checkPatch(patch)
    const a = this.store.data.events
    let ev: EventRecord | undefined
    for (let i = a.length - 1; i >= 0 && !ev; i--) if (a[i].id === id) ev = a[i]
    if (!ev) throw new ApiError('not_found', `event ${id} does not exist (it may have been removed by retention)`)
    if (patch.decision !== undefined) ev.decision = patch.decision
    if (patch.band !== undefined) ev.band = patch.band
    if (patch.personId !== undefined) ev.personId = patch.personId
    if (patch.personName !== undefined) ev.personName = patch.personName
    if (patch.reviewItemId !== undefined) ev.reviewItemId = patch.reviewItemId
    await this.store.write()
    this.emit(ev, false)
    return cloneEvent(ev)
  }

  /** Newest first; default page size 50. */
  query(q: EventQuery = {}): Page<EventRecord> {
    const sorted = filterSorted(this.store.data.events, q)
    const page = paginate(sorted, q.offset ?? 0, q.limit ?? DEFAULT_LIMIT)
    return { ...page, items: page.items.map(cloneEvent) }
  }

  stats(q: { from?: number; to?: number; cameraId?: string; personId?: string } = {}): EventStats {
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw bad('event stats: from is after to')
    return computeStats(this.store.data.events, q)
  }

  /** All matching events (offset/limit apply only when given), newest first. */
  exportCsv(q: EventQuery = {}): string {
    const sorted = filterSorted(this.store.data.events, q)
    const rows =
      q.offset !== undefined || q.limit !== undefined
        ? sorted.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? sorted.length))
        : sorted
    const names = new Map(this.store.data.cameras.map((c) => [c.id, c.name]))
    return toCsv(rows, (id) => names.get(id))
  }

  /** Every media key the db still points at: such files are never deleted. */
  private referencedKeys(): Set<MediaKey> {
    const d = this.store.data
    const s = new Set<MediaKey>(this.uncommitted)
    for (const e of d.events) {
      if (e.crop) s.add(e.crop)
      if (e.snapshot) s.add(e.snapshot)
    }
    for (const r of d.review) {
      s.add(r.crop)
      s.add(r.snapshot)
    }
    for (const p of d.people) for (const ph of p.photos) s.add(ph.media)
    return s
  }

  private async removeUnreferenced(keys: readonly MediaKey[]): Promise<number> {
    if (keys.length === 0) return 0
    const refs = this.referencedKeys()
    const todo = keys.filter((k) => !refs.has(k))
    let n = 0
    let next = 0
    // a few unlinks in flight: a month of events is tens of thousands of files
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const k = todo[next++]
        try {
          if (await this.media.remove(k)) n++
        } catch (err) {
          this.logger.warn(`[events] could not delete ${k}: ${err instanceof Error ? err.message : String(err)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(8, todo.length) }, worker))
    return n
  }

  /**
   * Removes events whose last sighting is older than `retentionDays`, the review items of those
   * events, rejections that old, and then their image files (the db is written first, so a crash
   * in between leaves unreferenced files, never references to missing files). Also sweeps
   * crops/snapshots day folders older than the cutoff for files nothing refers to (left by a crash
   * between writing an image and writing the db).
   */
  async purge(retentionDays: number, now: number = Date.now()): Promise<PurgeResult> {
    if (typeof retentionDays !== 'number' || !Number.isFinite(retentionDays) || retentionDays <= 0) {
      throw bad(`retention must be a positive number of days (got ${String(retentionDays)})`)
    }
    const cutoff = now - retentionDays * DAY_MS
    const d = this.store.data
    const doomedMedia: MediaKey[] = []
    const purgedEventIds = new Set<string>()
    for (const e of d.events) if (e.updatedAt < cutoff) purgedEventIds.add(e.id)

    const removedEvents = compact(d.events, (e) => {
      if (!purgedEventIds.has(e.id)) return true
      if (e.crop) doomedMedia.push(e.crop)
      if (e.snapshot) doomedMedia.push(e.snapshot)
      return false
    })
    const keptEventIds = new Set(d.events.map((e) => e.id))
    const removedReviews = compact(d.review, (r) => {
      const orphanedAndOld = !keptEventIds.has(r.eventId) && r.createdAt < cutoff
      if (!purgedEventIds.has(r.eventId) && !orphanedAndOld) return true
      doomedMedia.push(r.crop, r.snapshot)
      return false
    })
    const removedRejections = compact(d.rejections, (r) => r.at >= cutoff)
    if (removedEvents + removedReviews + removedRejections > 0) {
      for (const [k, ev] of this.live) if (purgedEventIds.has(ev.id)) this.live.delete(k)
      await this.store.write()
    }
    let files = await this.removeUnreferenced([...new Set(doomedMedia)])
    files += await this.sweep(dayOf(cutoff))
    return { events: removedEvents, files, reviews: removedReviews }
  }

  /** Unreferenced files and interrupted-write leftovers in day folders strictly before `beforeDay`. */
  private async sweep(beforeDay: string): Promise<number> {
    let n = 0
    for (const kind of SWEPT_KINDS) {
      for (const day of await this.media.days(kind)) {
        if (day >= beforeDay) break
        const { keys, temps } = await this.media.listDay(kind, day)
        n += await this.removeUnreferenced(keys)
        for (const t of temps) await unlink(t).catch(() => undefined)
        await this.media.removeDayIfEmpty(kind, day)
      }
    }
    return n
  }
}

/** In-place filter (other code may hold the array); returns how many were removed. */
function compact<T>(a: T[], keep: (x: T) => boolean): number {
  let w = 0
  for (let r = 0; r < a.length; r++) {
    const x = a[r]
    if (keep(x)) a[w++] = x
  }
  const removed = a.length - w
  a.length = w
  return removed
}

export interface RetentionOptions {
  /** reuse the app's EventLog so its live-track index stays exact */
  log?: EventLog
  /** first run after this delay (default 10 s: not during start-up) */
  initialDelayMs?: number
  logger?: Logger
  onPurged?: (r: PurgeResult) => void
}

/** Runs purge(getDays()) now-ish and every intervalMs; returns the stop function. Never overlaps runs. */
export function startRetention(
  store: Store,
  media: MediaStore,
  getDays: () => number = () => store.data.settings.retentionDays,
  intervalMs = 3_600_000,
  opts: RetentionOptions = {}
): () => void {
  if (!Number.isFinite(intervalMs) || intervalMs < 1000) throw bad('retention interval must be at least 1000 ms')
  const log = opts.log ?? new EventLog(store, media)
  const logger = opts.logger ?? silentLogger
  let running = false
  let stopped = false
  const tick = async (): Promise<void> => {
    if (running || stopped) return
    running = true
    try {
      const r = await log.purge(getDays())
      if (r.events > 0 || r.files > 0)
        logger.warn(`[retention] removed ${r.events} events, ${r.reviews} review items, ${r.files} files`)
      opts.onPurged?.(r)
    } catch (err) {
      logger.error(`[retention] purge failed: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      running = false
    }
  }
  const first = setTimeout(() => void tick(), opts.initialDelayMs ?? 10_000)
  const timer = setInterval(() => void tick(), intervalMs)
  // retention alone must not keep a process (tests, CLI) alive
  first.unref()
  timer.unref()
  return () => {
    stopped = true
    clearTimeout(first)
    clearInterval(timer)
  }
}
