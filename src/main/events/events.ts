// Event history: one record per (camera, track, person-or-unknown) that is kept up to date while the
// track lives, instead of one record per analysed frame. Records are in the SQL store (EventRepo:
// SQLite or PostgreSQL, this file does not know which); their crop and snapshot JPEGs are media files.
import { randomUUID } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { ApiError } from '../../shared/api'
import type {
  Band,
  Box,
  EventDecision,
  EventQuery,
  EventRecord,
  EventStats,
  HourCount,
  MediaKey,
  Page
} from '../../shared/types'
import type { Logger } from '../log/logger'
import { silentLogger } from '../log/logger'
import type { EventRepo } from '../store/repos/events'
import { dayOf, type MediaKind, type MediaStore } from '../store/media'
import { DEFAULT_LIMIT, HISTOGRAM_BINS, checkQuery, toCsv } from './query'
import { keyedSerial } from '../util/serial'

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
  logger?: Logger
  /** camera id → name for the CSV export */
  cameraName?: (id: string) => string | undefined
  /** rows per purge batch: each batch is one short statement, the live pipeline runs in between */
  purgeBatch?: number
}

/**
 * What retention removes besides events (the review queue): items of purged events and old
 * rejections, and the media those still reference so the day sweep keeps them.
 */
export interface RetentionPartner {
  purgeWith(cutoff: number, purgedEventIds: ReadonlySet<string>): Promise<{ reviews: number; media: MediaKey[] }>
  referencedMedia(): Promise<MediaKey[]>
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

/** Six hours of start times per stats statement: ~8 000 rows at a million events a month. */
const STATS_SLICE_MS = 6 * 3_600_000

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r))

export class EventLog {
  private readonly trackGapMs: number
  private readonly logger: Logger
  private readonly cameraName: (id: string) => string | undefined
  private readonly purgeBatchSize: number
  /** the event currently collecting each track key */
  private readonly live = new Map<string, EventRecord>()
  /** per track key, one write at a time: two frames of one track must not both create an event */
  private readonly serial = keyedSerial()
  /** media written but not yet referenced from the db: retention must not sweep them */
  private readonly uncommitted = new Set<MediaKey>()
  private readonly listeners = new Set<(e: EventRecord, created: boolean) => void>()

  constructor(
    private readonly repo: EventRepo,
    private readonly media: MediaStore,
    opts: EventLogOptions = {}
  ) {
    this.trackGapMs = opts.trackGapMs ?? 30_000
    this.logger = opts.logger ?? silentLogger
    this.cameraName = opts.cameraName ?? (() => undefined)
    // 100 rows: measured 2 ms p50 / 20 ms max per batch under heavy load, 500 rows 31 / 143 ms
    this.purgeBatchSize = opts.purgeBatch ?? 100
  }

  /** After a restart, a track that is still being reported keeps its event (within trackGapMs). */
  async init(now: number = Date.now()): Promise<void> {
    for (const e of await this.repo.recent(now - this.trackGapMs)) {
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
   * Creates the event of a (camera, track, person) or updates it; the change is in the database
   * when this resolves (one short statement, so every frame may write). A failed write leaves the
   * event as it was, in memory too. Operator decisions (confirmed/rejected/reassigned) are never
   * overwritten by camera updates.
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
      try {
        await this.repo.insert(rec)
      } catch (err) {
        await this.dropUncommitted(newKeys)
        throw err
      }
      for (const k of newKeys) this.uncommitted.delete(k)
      this.live.set(key, rec)
      this.pruneLive(e.at)
      this.emit(rec, true)
      return { event: cloneEvent(rec), created: true }
    }

    // copy-on-write: the live record changes only once the database has the new version
    const next = cloneEvent(ev)
    const superseded: MediaKey[] = []
    const operatorDecided = OPERATOR_DECISIONS.includes(ev.decision)
    if (e.score > next.score) {
      next.score = e.score
      next.box = { ...e.box }
      if (!operatorDecided) next.band = e.band
    }
    if (cropKey) {
      if (next.crop) superseded.push(next.crop)
      next.crop = cropKey
    }
    if (snapKey) {
      if (next.snapshot) superseded.push(next.snapshot)
      next.snapshot = snapKey
    }
    next.updatedAt = Math.max(next.updatedAt, e.at)
    next.startedAt = Math.min(next.startedAt, e.at)
    if (!operatorDecided && e.personName !== null) next.personName = e.personName
    if (e.reviewItemId !== undefined && next.reviewItemId === null) next.reviewItemId = e.reviewItemId
    // 'pending' sticks until an operator decides: a later confident frame must not pull the event
    // out of the review queue
    if (!operatorDecided && e.decision !== next.decision && !(next.decision === 'pending' && e.decision === 'auto')) {
      next.decision = e.decision
    }
    let stillThere: boolean
    try {
      stillThere = await this.repo.update(next)
    } catch (err) {
      await this.dropUncommitted(newKeys)
      throw err
    }
    for (const k of newKeys) this.uncommitted.delete(k)
    if (!stillThere) {
      // purged (retention) or deleted elsewhere between the read and the write: start afresh
      this.live.delete(key)
      await this.removeFiles(newKeys)
      return this.upsertNow(key, { ...e, crop: e.crop, snapshot: e.snapshot })
    }
    this.live.set(key, next)
    await this.removeFiles(superseded)
    this.emit(next, false)
    return { event: cloneEvent(next), created: false }
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
    if (at - ev.updatedAt > this.trackGapMs) {
      this.live.delete(key)
      return null
    }
    return ev
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
        this.logger.error({ err: String(err) }, 'events: listener failed')
      }
    }
  }

  async get(id: string): Promise<EventRecord | null> {
    return this.repo.get(id)
  }

  /** Operator decisions from the review queue; in the database when this resolves. */
  async update(id: string, patch: EventPatch): Promise<EventRecord> {
    if (!isId(id)) throw bad('event id must be a non-empty string')
    checkPatch(patch)
    const cur = await this.repo.get(id)
    if (!cur) throw new ApiError('not_found', `event ${id} does not exist (it may have been removed by retention)`)
    const next = cloneEvent(cur)
    if (patch.decision !== undefined) next.decision = patch.decision
    if (patch.band !== undefined) next.band = patch.band
    if (patch.personId !== undefined) next.personId = patch.personId
    if (patch.personName !== undefined) next.personName = patch.personName
    if (patch.reviewItemId !== undefined) next.reviewItemId = patch.reviewItemId
    if (!(await this.repo.update(next))) {
      throw new ApiError('not_found', `event ${id} does not exist (it may have been removed by retention)`)
    }
    // the live copy (if the track is still on screen) follows, so the next frame does not undo it
    for (const [k, ev] of this.live) if (ev.id === id) this.live.set(k, next)
    this.emit(next, false)
    return cloneEvent(next)
  }

  /** Newest first; default page size 50. Answered from the indexes: one page, one count. */
  async query(q: EventQuery = {}): Promise<Page<EventRecord>> {
    checkQuery(q)
    const offset = q.offset ?? 0
    const limit = q.limit ?? DEFAULT_LIMIT
    const items = await this.repo.page(q, offset, limit)
    const total = await this.countSliced(q)
    return { items, total, offset, limit }
  }

  /**
   * One person's or camera's events are one covering-index range; anything wider is counted one day of last-update
   * time at a time, each a short index-only statement with the event loop free in between, instead
   * of one statement over up to the whole history.
   */
  private async countSliced(q: EventQuery): Promise<number> {
    // a person's or a camera's events are one range of a covering index: one statement
    if (q.personId !== undefined || q.cameraId !== undefined) return this.repo.count(q)
    const lo = q.from ?? (await this.repo.minUpdatedAt())
    if (lo === null) return 0
    const hi = q.to ?? Date.now()
    if (hi - lo <= DAY_MS) return this.repo.count(q)
    let n = 0
    for (let a = lo; ; a += DAY_MS) {
      const last = a + DAY_MS > hi
      n += await this.repo.countSlice(q, a === lo && q.from === undefined ? null : a, last ? null : a + DAY_MS)
      if (last) break
      await yieldToLoop()
    }
    return n
  }

  /**
   * Events per (hour, camera) and the score histogram. Computed one day of start times at a time:
   * each slice is a short indexed statement, and other work runs between the slices.
   */
  async stats(q: { from?: number; to?: number; cameraId?: string; personId?: string } = {}): Promise<EventStats> {
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw bad('event stats: from is after to')
    checkQuery(q)
    const counts = new Map<string, HourCount>()
    const histogram = new Array<number>(HISTOGRAM_BINS).fill(0)
    const add = (r: { perHour: HourCount[]; histogram: number[] }): void => {
      for (const h of r.perHour) {
        const k = `${h.hour}\u0000${h.cameraId}`
        const c = counts.get(k)
        if (c) c.count += h.count
        else counts.set(k, { ...h })
      }
      r.histogram.forEach((n, i) => (histogram[i] += n))
    }
    for (const [a, b] of statsSlices(q.from, q.to ?? Date.now())) {
      add(await this.repo.statsSlice(q, a, b))
      await yieldToLoop()
    }
    const perHour = [...counts.values()].sort(
      (a, b) => a.hour - b.hour || (a.cameraId < b.cameraId ? -1 : a.cameraId > b.cameraId ? 1 : 0)
    )
    return { perHour, confidenceHistogram: histogram }
  }

  /** All matching events (offset/limit apply only when given), newest first; read in keyset pages. */
  async exportCsv(q: EventQuery = {}): Promise<string> {
    checkQuery(q)
    let rows: EventRecord[]
    if (q.offset !== undefined || q.limit !== undefined) {
      rows = await this.repo.page(q, q.offset ?? 0, q.limit ?? Number.MAX_SAFE_INTEGER)
    } else {
      rows = []
      let before: { startedAt: number; id: string } | null = null
      for (;;) {
        const part = await this.repo.pageBefore(q, before, 1000)
        rows.push(...part)
        if (part.length < 1000) break
        const last = part[part.length - 1]
        before = { startedAt: last.startedAt, id: last.id }
        await yieldToLoop()
      }
    }
    // the operator's decision lives on the review item the event links to
    const decisions = await this.repo.decisions(rows.flatMap((e) => (e.reviewItemId ? [e.reviewItemId] : [])))
    return toCsv(rows, this.cameraName, (e) => (e.reviewItemId ? (decisions.get(e.reviewItemId) ?? null) : null))
  }

  private async removeFiles(keys: readonly MediaKey[]): Promise<number> {
    const todo = keys.filter((k) => !this.uncommitted.has(k))
    let n = 0
    let next = 0
    // a few unlinks in flight: a month of events is tens of thousands of files
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const k = todo[next++]
        try {
          if (await this.media.remove(k)) n++
        } catch (err) {
          this.logger.warn({ err: String(err), key: k }, 'events: could not delete a media file')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(8, todo.length) }, worker))
    return n
  }

  /**
   * Removes events whose last sighting is older than `retentionDays`, in batches of short
   * statements with the event loop free in between, then their image files (rows first, so a crash
   * in between leaves unreferenced files, never references to missing files). The partner (review
   * queue) removes what belonged to those events. Also sweeps crops/snapshots day folders older
   * than the cutoff for files nothing refers to (left by a crash between a file and its row).
   */
  async purge(retentionDays: number, now: number = Date.now(), partner?: RetentionPartner): Promise<PurgeResult> {
    if (typeof retentionDays !== 'number' || !Number.isFinite(retentionDays) || retentionDays <= 0) {
      throw bad(`retention must be a positive number of days (got ${String(retentionDays)})`)
    }
    const cutoff = now - retentionDays * DAY_MS
    const purgedIds = new Set<string>()
    let files = 0
    for (;;) {
      const batch = await this.repo.purgeBatch(cutoff, this.purgeBatchSize)
      const media: MediaKey[] = []
      for (const e of batch) {
        purgedIds.add(e.id)
        if (e.crop) media.push(e.crop)
        if (e.snapshot) media.push(e.snapshot)
      }
      for (const [k, ev] of this.live) if (purgedIds.has(ev.id)) this.live.delete(k)
      files += await this.removeFiles(media)
      if (batch.length < this.purgeBatchSize) break
      await yieldToLoop()
    }
    let reviews = 0
    if (partner) {
      const r = await partner.purgeWith(cutoff, purgedIds)
      reviews = r.reviews
      files += await this.removeFiles(r.media)
    }
    files += await this.sweep(cutoff, partner)
    return { events: purgedIds.size, files, reviews }
  }

  /** Unreferenced files and interrupted-write leftovers in day folders strictly before the cutoff's day. */
  private async sweep(cutoff: number, partner?: RetentionPartner): Promise<number> {
    const beforeDay = dayOf(cutoff)
    // events that started before the cutoff but are still kept may have their images in old folders
    const keep = new Set<MediaKey>(await this.repo.mediaStartedBefore(cutoff))
    for (const k of this.uncommitted) keep.add(k)
    for (const k of (await partner?.referencedMedia()) ?? []) keep.add(k)
    let n = 0
    for (const kind of SWEPT_KINDS) {
      for (const day of await this.media.days(kind)) {
        if (day >= beforeDay) break
        const { keys, temps } = await this.media.listDay(kind, day)
        n += await this.removeFiles(keys.filter((k) => !keep.has(k)))
        for (const t of temps) await unlink(t).catch(() => undefined)
        await this.media.removeDayIfEmpty(kind, day)
      }
    }
    return n
  }
}

/**
 * [from, to) slices of start time, one day each, covering every event that overlaps [from, to]:
 * the first slice is open below (an event that started earlier may still overlap `from`).
 */
export function statsSlices(
  from: number | undefined,
  to: number,
  sliceMs = STATS_SLICE_MS
): [number | null, number | null][] {
  if (from === undefined || to - from <= sliceMs) return [[null, null]]
  const out: [number | null, number | null][] = []
  let a: number | null = null
  let b = from + sliceMs
  while (b <= to) {
    out.push([a, b])
    a = b
    b += sliceMs
  }
  out.push([a, null])
  return out
}

export interface RetentionOptions {
  /** first run after this delay (default 10 s: not during start-up) */
  initialDelayMs?: number
  logger?: Logger
  onPurged?: (r: PurgeResult) => void
  partner?: RetentionPartner
}

/** Runs purge(getDays()) now-ish and every intervalMs; returns the stop function. Never overlaps runs. */
export function startRetention(
  log: EventLog,
  getDays: () => number,
  intervalMs = 3_600_000,
  opts: RetentionOptions = {}
): () => void {
  if (!Number.isFinite(intervalMs) || intervalMs < 1000) throw bad('retention interval must be at least 1000 ms')
  const logger = opts.logger ?? silentLogger
  let running = false
  let stopped = false
  const tick = async (): Promise<void> => {
    if (running || stopped) return
    running = true
    try {
      const r = await log.purge(getDays(), Date.now(), opts.partner)
      if (r.events > 0 || r.files > 0)
        logger.info({ events: r.events, reviews: r.reviews, files: r.files }, 'retention: removed old history')
      opts.onPurged?.(r)
    } catch (err) {
      logger.error({ err: String(err) }, 'retention: purge failed')
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
