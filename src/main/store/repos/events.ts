// Event history in SQL. Written once against SqlExecutor, so the same statements run on SQLite and
// PostgreSQL. Every query the console makes is answered from an index (time, person, camera), and
// every statement touches a bounded number of rows: libsql runs on the event loop, so one long
// statement would stall the live pipeline.
import type { Band, EventDecision, EventQuery, EventRecord, HourCount, MediaKey } from '../../../shared/types'
import type { SqlExecutor, SqlMigration, SqlParams, SqlRow, SqlValue } from '../sql/database'

export const EVENT_MIGRATIONS: SqlMigration[] = [
  {
    box: 'events',
    version: 1,
    name: 'events table with time, person and camera indexes',
    sql: `
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        camera_id TEXT NOT NULL,
        track_id TEXT NOT NULL,
        band TEXT NOT NULL,
        person_id TEXT,
        person_name TEXT,
        score DOUBLE PRECISION NOT NULL,
        -- the confidence-histogram bin of score, kept beside it: floor() is not portable between engines
        score_bin INTEGER NOT NULL,
        decision TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        box_x DOUBLE PRECISION NOT NULL,
        box_y DOUBLE PRECISION NOT NULL,
        box_w DOUBLE PRECISION NOT NULL,
        box_h DOUBLE PRECISION NOT NULL,
        crop TEXT,
        snapshot TEXT,
        review_item_id TEXT
      );
      CREATE INDEX events_started ON events (started_at, id);
      CREATE INDEX events_updated ON events (updated_at, started_at);
      CREATE INDEX events_person ON events (person_id, started_at);
      CREATE INDEX events_camera ON events (camera_id, started_at);
      CREATE INDEX events_track ON events (camera_id, track_id, updated_at)
    `
  },
  {
    box: 'events',
    version: 2,
    name: 'covering indexes for counts and stats',
    // Measured on 1 000 000 events: counting one camera's events in a time range and the 7-day
    // stats read every row's table page through the v1 indexes (seconds under load, each slice a
    // stall); with the time and the grouped columns in the index they never leave it.
    sql: `
      DROP INDEX events_person;
      DROP INDEX events_camera;
      CREATE INDEX events_person ON events (person_id, started_at, updated_at);
      CREATE INDEX events_camera ON events (camera_id, started_at, updated_at);
      CREATE INDEX events_stats ON events (started_at, camera_id, score_bin, updated_at)
    `
  }
]

const COLUMNS =
  'id, camera_id, track_id, band, person_id, person_name, score, score_bin, decision, started_at, updated_at, box_x, box_y, box_w, box_h, crop, snapshot, review_item_id'

interface EventRow extends SqlRow {
  id: string
  camera_id: string
  track_id: string
  band: string
  person_id: string | null
  person_name: string | null
  score: number | string
  decision: string
  started_at: number | string
  updated_at: number | string
  box_x: number | string
  box_y: number | string
  box_w: number | string
  box_h: number | string
  crop: string | null
  snapshot: string | null
  review_item_id: string | null
}

/** PostgreSQL returns BIGINT as text; both engines come back as numbers here. */
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))

export function rowToEvent(r: EventRow): EventRecord {
  return {
    id: r.id,
    cameraId: r.camera_id,
    trackId: r.track_id,
    band: r.band as Band,
    personId: r.person_id,
    personName: r.person_name,
    score: num(r.score),
    decision: r.decision as EventDecision,
    startedAt: num(r.started_at),
    updatedAt: num(r.updated_at),
    box: { x: num(r.box_x), y: num(r.box_y), w: num(r.box_w), h: num(r.box_h) },
    crop: r.crop,
    snapshot: r.snapshot,
    reviewItemId: r.review_item_id
  }
}

export const HISTOGRAM_BINS = 20

/** Same binning as events/query.ts scoreBin: 20 equal bins over 0..1, out of range to the ends. */
export function scoreBinOf(score: number): number {
  if (!Number.isFinite(score) || score <= 0) return 0
  return Math.min(HISTOGRAM_BINS - 1, Math.floor(score * HISTOGRAM_BINS))
}

function eventParams(e: EventRecord): SqlValue[] {
  return [
    e.id,
    e.cameraId,
    e.trackId,
    e.band,
    e.personId,
    e.personName,
    e.score,
    scoreBinOf(e.score),
    e.decision,
    e.startedAt,
    e.updatedAt,
    e.box.x,
    e.box.y,
    e.box.w,
    e.box.h,
    e.crop,
    e.snapshot,
    e.reviewItemId
  ]
}

/**
 * WHERE clause (without the keyword) and its parameters for the filters of an EventQuery.
 * `by`: which time index the statement should walk. Pages and stats walk start time ('started'):
 * the last-update bound is then written `+updated_at`, which SQLite cannot serve from an index
 * (and PostgreSQL reads as the same number), so the planner never picks the last-update index and
 * sorts a month of rows for one page (measured: a 2.5 s stall at 1 000 000 events). Counts walk
 * the last-update index ('updated'), which covers them.
 */
export function whereOf(
  q: Omit<EventQuery, 'offset' | 'limit'>,
  by: 'started' | 'updated' = 'updated'
): { sql: string; params: SqlValue[] } {
  const parts: string[] = []
  const params: SqlValue[] = []
  if (q.personId !== undefined) {
    parts.push('person_id = ?')
    params.push(q.personId)
  }
  if (q.cameraId !== undefined) {
    parts.push('camera_id = ?')
    params.push(q.cameraId)
  }
  if (q.band !== undefined) {
    parts.push('band = ?')
    params.push(q.band)
  }
  if (q.decision !== undefined) {
    parts.push('decision = ?')
    params.push(q.decision)
  }
  // an event covers [started_at, updated_at]; it is in range when that overlaps [from, to]
  if (q.from !== undefined) {
    parts.push(by === 'started' ? '+updated_at >= ?' : 'updated_at >= ?')
    params.push(q.from)
  }
  if (q.to !== undefined) {
    parts.push('started_at <= ?')
    params.push(q.to)
  }
  return { sql: parts.length ? parts.join(' AND ') : '1 = 1', params }
}

export interface EventStatsRows {
  perHour: HourCount[]
  histogram: number[]
}

/** The event history of one store. Implementations: SqlEventRepo (both engines). */
export interface EventRepo {
  insert(e: EventRecord): Promise<void>
  /** whole-record write of an existing event; false when it no longer exists (retention) */
  update(e: EventRecord): Promise<boolean>
  get(id: string): Promise<EventRecord | null>
  /** newest first by start, id breaking ties */
  page(q: EventQuery, offset: number, limit: number): Promise<EventRecord[]>
  count(q: EventQuery): Promise<number>
  /** count of matches last updated in [updFrom, updTo) (null = open): one short index-only statement */
  countSlice(q: EventQuery, updFrom: number | null, updTo: number | null): Promise<number>
  /** oldest last-update time, or null when empty */
  minUpdatedAt(): Promise<number | null>
  /** counts per (hour, camera) and the score histogram of events that started in [startFrom, startTo) and match q */
  statsSlice(q: EventQuery, startFrom: number | null, startTo: number | null): Promise<EventStatsRows>
  /** keyset page for exports: events strictly older (started_at, id) than `before`, newest first */
  pageBefore(q: EventQuery, before: { startedAt: number; id: string } | null, limit: number): Promise<EventRecord[]>
  /** the newest event of every track updated at or after `since`: live tracks survive a restart */
  recent(since: number): Promise<EventRecord[]>
  /** deletes up to `limit` events last updated before `cutoff`; returns them */
  purgeBatch(cutoff: number, limit: number): Promise<EventRecord[]>
  /** media of events that started before `day` and are still kept (so the day sweep keeps them) */
  mediaStartedBefore(startedBefore: number): Promise<MediaKey[]>
  total(): Promise<number>
}

export class SqlEventRepo implements EventRepo {
  constructor(private readonly db: SqlExecutor) {}

  async insert(e: EventRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      eventParams(e)
    )
  }

  async update(e: EventRecord): Promise<boolean> {
    const p = eventParams(e)
    const r = await this.db.run(
      `UPDATE events SET camera_id = ?, track_id = ?, band = ?, person_id = ?, person_name = ?, score = ?, score_bin = ?,
         decision = ?, started_at = ?, updated_at = ?, box_x = ?, box_y = ?, box_w = ?, box_h = ?, crop = ?, snapshot = ?,
         review_item_id = ? WHERE id = ?`,
      [...p.slice(1), e.id]
    )
    return r.changes > 0
  }

  async get(id: string): Promise<EventRecord | null> {
    const r = await this.db.get<EventRow>(`SELECT ${COLUMNS} FROM events WHERE id = ?`, [id])
    return r ? rowToEvent(r) : null
  }

  async page(q: EventQuery, offset: number, limit: number): Promise<EventRecord[]> {
    const w = whereOf(q, 'started')
    const rows = await this.db.all<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE ${w.sql} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`,
      [...w.params, limit, offset]
    )
    return rows.map(rowToEvent)
  }

  async count(q: EventQuery): Promise<number> {
    const w = whereOf(q)
    const r = await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM events WHERE ${w.sql}`, w.params)
    return num(r?.n ?? 0)
  }

  async countSlice(q: EventQuery, updFrom: number | null, updTo: number | null): Promise<number> {
    const w = whereOf(q)
    let sql = w.sql
    const params: SqlValue[] = [...w.params]
    if (updFrom !== null) {
      sql += ' AND updated_at >= ?'
      params.push(updFrom)
    }
    if (updTo !== null) {
      sql += ' AND updated_at < ?'
      params.push(updTo)
    }
    const r = await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM events WHERE ${sql}`, params)
    return num(r?.n ?? 0)
  }

  async minUpdatedAt(): Promise<number | null> {
    const r = await this.db.get<{ m: number | string | null }>('SELECT MIN(updated_at) AS m FROM events')
    return r?.m === null || r?.m === undefined ? null : num(r.m)
  }

  async statsSlice(q: EventQuery, startFrom: number | null, startTo: number | null): Promise<EventStatsRows> {
    const w = whereOf(q, 'started')
    let sql = w.sql
    const params: SqlValue[] = [...w.params]
    if (startFrom !== null) {
      sql += ' AND started_at >= ?'
      params.push(startFrom)
    }
    if (startTo !== null) {
      sql += ' AND started_at < ?'
      params.push(startTo)
    }
    const hours = await this.db.all<{ h: number | string; camera_id: string; n: number | string }>(
      `SELECT started_at / 3600000 AS h, camera_id, COUNT(*) AS n FROM events WHERE ${sql} GROUP BY started_at / 3600000, camera_id`,
      params
    )
    const bins = await this.db.all<{ b: number | string; n: number | string }>(
      `SELECT score_bin AS b, COUNT(*) AS n FROM events WHERE ${sql} GROUP BY score_bin`,
      params
    )
    const histogram = new Array<number>(HISTOGRAM_BINS).fill(0)
    for (const b of bins) histogram[Math.min(HISTOGRAM_BINS - 1, Math.max(0, num(b.b)))] += num(b.n)
    return {
      perHour: hours.map((h) => ({ cameraId: h.camera_id, hour: Math.floor(num(h.h)) * 3_600_000, count: num(h.n) })),
      histogram
    }
  }

  async pageBefore(
    q: EventQuery,
    before: { startedAt: number; id: string } | null,
    limit: number
  ): Promise<EventRecord[]> {
    const w = whereOf(q, 'started')
    let sql = w.sql
    const params: SqlValue[] = [...w.params]
    if (before) {
      sql += ' AND (started_at < ? OR (started_at = ? AND id < ?))'
      params.push(before.startedAt, before.startedAt, before.id)
    }
    const rows = await this.db.all<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE ${sql} ORDER BY started_at DESC, id DESC LIMIT ?`,
      [...params, limit]
    )
    return rows.map(rowToEvent)
  }

  async recent(since: number): Promise<EventRecord[]> {
    const rows = await this.db.all<EventRow>(`SELECT ${COLUMNS} FROM events WHERE updated_at >= ?`, [since])
    return rows.map(rowToEvent)
  }

  async purgeBatch(cutoff: number, limit: number): Promise<EventRecord[]> {
    // RETURNING (SQLite ≥ 3.35, PostgreSQL) reports exactly the rows deleted, media keys included
    const rows = await this.db.all<EventRow>(
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE updated_at < ? ORDER BY updated_at LIMIT ?) RETURNING ${COLUMNS}`,
      [cutoff, limit]
    )
    return rows.map(rowToEvent)
  }

  async mediaStartedBefore(startedBefore: number): Promise<MediaKey[]> {
    const rows = await this.db.all<{ crop: string | null; snapshot: string | null }>(
      'SELECT crop, snapshot FROM events WHERE started_at < ?',
      [startedBefore]
    )
    const out: MediaKey[] = []
    for (const r of rows) {
      if (r.crop) out.push(r.crop)
      if (r.snapshot) out.push(r.snapshot)
    }
    return out
  }

  async total(): Promise<number> {
    const r = await this.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM events')
    return num(r?.n ?? 0)
  }
}

/** Inserts many events in one statement per chunk (import and benchmarks). */
export async function insertEvents(db: SqlExecutor, events: readonly EventRecord[], chunk = 50): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    const part = events.slice(i, i + chunk)
    const row = `(${new Array(18).fill('?').join(', ')})`
    const params: SqlParams = part.flatMap(eventParams)
    await db.run(`INSERT INTO events (${COLUMNS}) VALUES ${part.map(() => row).join(', ')}`, params)
  }
}
