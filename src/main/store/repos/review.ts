// Review items, their append-only audit trail, and rejections ("this track is not that person") in
// SQL. A decision is a conditional UPDATE (… WHERE version = ? AND status = 'pending'): when two
// instances decide the same item at once, exactly one row update succeeds and the other caller
// learns it lost, without any lock held across the network.
import type { AuditEntry, Box, Candidate, FaceQuality, ReviewItem, ReviewStatus } from '../../../shared/types'
import type { SqlEngine, SqlExecutor, SqlMigration, SqlRow } from '../sql/database'
import { blobToEmbedding, embeddingToBlob } from './gallery'

const blob = (e: SqlEngine): string => (e === 'postgres' ? 'BYTEA' : 'BLOB')

export const REVIEW_MIGRATIONS: SqlMigration[] = [
  {
    box: 'review',
    version: 1,
    name: 'review items, audit trail, rejections',
    sql: Object.fromEntries(
      (['sqlite', 'postgres'] as const).map((e) => [
        e,
        `
        CREATE TABLE review_items (
          id TEXT PRIMARY KEY,
          event_id TEXT NOT NULL,
          camera_id TEXT NOT NULL,
          track_id TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          status TEXT NOT NULL,
          version INTEGER NOT NULL,
          person_id TEXT,
          decided_by TEXT,
          decided_at BIGINT,
          -- candidates, box, crop, snapshot, cropQuality: read and written whole, never filtered on
          body TEXT NOT NULL,
          crop_embedding ${blob(e)}
        );
        CREATE INDEX review_status ON review_items (status, created_at);
        CREATE INDEX review_event ON review_items (event_id);
        CREATE TABLE review_audit (
          item_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          at BIGINT NOT NULL,
          entry TEXT NOT NULL,
          PRIMARY KEY (item_id, seq)
        );
        CREATE TABLE rejections (
          camera_id TEXT NOT NULL,
          track_id TEXT NOT NULL,
          person_id TEXT NOT NULL,
          at BIGINT NOT NULL,
          operator TEXT NOT NULL
        );
        CREATE INDEX rejections_key ON rejections (camera_id, track_id, person_id);
        CREATE INDEX rejections_at ON rejections (at)
        `
      ])
    ) as Record<SqlEngine, string>
  }
]

/** A review item as stored: the API shape plus the crop's embedding, which never goes to the UI. */
export type ReviewRecord = ReviewItem & { cropEmbedding: Float32Array | null }

export interface RejectionRecord {
  cameraId: string
  trackId: string
  personId: string
  at: number
  operator: string
}

interface Body {
  candidates: Candidate[]
  box: Box
  crop: string
  snapshot: string
  cropQuality: FaceQuality
}

interface ItemRow extends SqlRow {
  id: string
  event_id: string
  camera_id: string
  track_id: string
  created_at: number | string
  status: string
  version: number | string
  person_id: string | null
  decided_by: string | null
  decided_at: number | string | null
  body: string
  crop_embedding: Uint8Array | null
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))

function bodyOf(r: ReviewRecord): string {
  const b: Body = {
    candidates: r.candidates,
    box: r.box,
    crop: r.crop,
    snapshot: r.snapshot,
    cropQuality: r.cropQuality
  }
  return JSON.stringify(b)
}

function toRecord(r: ItemRow, audit: AuditEntry[]): ReviewRecord {
  const b = JSON.parse(r.body) as Body
  return {
    id: r.id,
    eventId: r.event_id,
    cameraId: r.camera_id,
    trackId: r.track_id,
    createdAt: num(r.created_at),
    status: r.status as ReviewStatus,
    version: num(r.version),
    candidates: b.candidates,
    personId: r.person_id,
    box: b.box,
    crop: b.crop,
    snapshot: b.snapshot,
    cropQuality: b.cropQuality,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : num(r.decided_at),
    audit,
    cropEmbedding: r.crop_embedding ? blobToEmbedding(r.crop_embedding) : null
  }
}

export interface ReviewRepo {
  loadAll(): Promise<ReviewRecord[]>
  load(id: string): Promise<ReviewRecord | null>
  insert(r: ReviewRecord): Promise<void>
  /** the picture got better while pending: crop, snapshot, box, quality, candidates, embedding */
  replaceCrop(r: ReviewRecord): Promise<boolean>
  /**
   * Writes a decision or undo: the row only if it is still at `expectVersion` (and pending, for a
   * decision), plus the new audit entries and the rejection changes, in one transaction. False
   * when another writer got there first: nothing was changed.
   */
  decide(
    next: ReviewRecord,
    expect: { version: number; pending: boolean },
    change: { addRejection?: RejectionRecord | null; removeRejections?: RejectionRecord[] }
  ): Promise<boolean>
  deleteMany(ids: readonly string[]): Promise<void>
  /** the pending item of (camera, track, person), if any */
  findPending(cameraId: string, trackId: string, personId: string | null): Promise<ReviewRecord | null>
  list(status?: ReviewStatus): Promise<ReviewRecord[]>
  pendingCount(): Promise<number>
  /** items created before `cutoff` whose event is in `eventIds` or no longer exists */
  doomed(cutoff: number, eventIds: ReadonlySet<string>): Promise<ReviewRecord[]>
  /** crop and snapshot keys of every item */
  media(): Promise<string[]>
  rejections(): Promise<RejectionRecord[]>
  insertRejection(r: RejectionRecord): Promise<void>
  purgeRejections(before: number): Promise<number>
  count(): Promise<{ items: number; audit: number; rejections: number }>
}

type Db = SqlExecutor & { transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> }

async function insertAudit(tx: SqlExecutor, itemId: string, from: number, audit: readonly AuditEntry[]): Promise<void> {
  for (let i = from; i < audit.length; i++) {
    await tx.run('INSERT INTO review_audit (item_id, seq, at, entry) VALUES (?, ?, ?, ?)', [
      itemId,
      i,
      audit[i].at,
      JSON.stringify(audit[i])
    ])
  }
}

export class SqlReviewRepo implements ReviewRepo {
  constructor(private readonly db: Db) {}

  async loadAll(): Promise<ReviewRecord[]> {
    const rows = await this.db.all<ItemRow>('SELECT * FROM review_items ORDER BY created_at, id')
    const audit = await this.db.all<{ item_id: string; entry: string }>(
      'SELECT item_id, entry FROM review_audit ORDER BY item_id, seq'
    )
    const byItem = new Map<string, AuditEntry[]>()
    for (const a of audit) {
      const list = byItem.get(a.item_id) ?? []
      list.push(JSON.parse(a.entry) as AuditEntry)
      byItem.set(a.item_id, list)
    }
    return rows.map((r) => toRecord(r, byItem.get(r.id) ?? []))
  }

  async load(id: string): Promise<ReviewRecord | null> {
    const r = await this.db.get<ItemRow>('SELECT * FROM review_items WHERE id = ?', [id])
    if (!r) return null
    const audit = await this.db.all<{ entry: string }>(
      'SELECT entry FROM review_audit WHERE item_id = ? ORDER BY seq',
      [id]
    )
    return toRecord(
      r,
      audit.map((a) => JSON.parse(a.entry) as AuditEntry)
    )
  }

  async insert(r: ReviewRecord): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO review_items (id, event_id, camera_id, track_id, created_at, status, version, person_id, decided_by,
           decided_at, body, crop_embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.eventId,
          r.cameraId,
          r.trackId,
          r.createdAt,
          r.status,
          r.version,
          r.personId,
          r.decidedBy,
          r.decidedAt,
          bodyOf(r),
          r.cropEmbedding ? embeddingToBlob(r.cropEmbedding) : null
        ]
      )
      await insertAudit(tx, r.id, 0, r.audit)
    })
  }

  async replaceCrop(r: ReviewRecord): Promise<boolean> {
    const res = await this.db.run(
      "UPDATE review_items SET body = ?, crop_embedding = ? WHERE id = ? AND status = 'pending' AND version = ?",
      [bodyOf(r), r.cropEmbedding ? embeddingToBlob(r.cropEmbedding) : null, r.id, r.version]
    )
    return res.changes > 0
  }

  async decide(
    next: ReviewRecord,
    expect: { version: number; pending: boolean },
    change: { addRejection?: RejectionRecord | null; removeRejections?: RejectionRecord[] }
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const res = await tx.run(
        `UPDATE review_items SET status = ?, version = ?, person_id = ?, decided_by = ?, decided_at = ?
           WHERE id = ? AND version = ?${expect.pending ? " AND status = 'pending'" : ''}`,
        [next.status, next.version, next.personId, next.decidedBy, next.decidedAt, next.id, expect.version]
      )
      if (res.changes === 0) return false
      const have = await tx.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM review_audit WHERE item_id = ?', [
        next.id
      ])
      await insertAudit(tx, next.id, num(have?.n ?? 0), next.audit)
      const add = change.addRejection
      if (add) {
        await tx.run('INSERT INTO rejections (camera_id, track_id, person_id, at, operator) VALUES (?, ?, ?, ?, ?)', [
          add.cameraId,
          add.trackId,
          add.personId,
          add.at,
          add.operator
        ])
      }
      for (const r of change.removeRejections ?? []) {
        await tx.run('DELETE FROM rejections WHERE camera_id = ? AND track_id = ? AND person_id = ? AND at = ?', [
          r.cameraId,
          r.trackId,
          r.personId,
          r.at
        ])
      }
      return true
    })
  }

  async deleteMany(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 200) {
      const part = ids.slice(i, i + 200)
      const marks = part.map(() => '?').join(', ')
      await this.db.transaction(async (tx) => {
        await tx.run(`DELETE FROM review_audit WHERE item_id IN (${marks})`, part)
        await tx.run(`DELETE FROM review_items WHERE id IN (${marks})`, part)
      })
    }
  }

  async findPending(cameraId: string, trackId: string, personId: string | null): Promise<ReviewRecord | null> {
    const r = await this.db.get<{ id: string }>(
      `SELECT id FROM review_items WHERE status = 'pending' AND camera_id = ? AND track_id = ? AND ${
        personId === null ? 'person_id IS NULL' : 'person_id = ?'
      } ORDER BY created_at LIMIT 1`,
      personId === null ? [cameraId, trackId] : [cameraId, trackId, personId]
    )
    return r ? this.load(r.id) : null
  }

  async list(status?: ReviewStatus): Promise<ReviewRecord[]> {
    const rows = await this.db.all<ItemRow>(
      `SELECT * FROM review_items${status ? ' WHERE status = ?' : ''} ORDER BY created_at DESC, id`,
      status ? [status] : []
    )
    return this.withAudit(rows)
  }

  private async withAudit(rows: ItemRow[]): Promise<ReviewRecord[]> {
    const byItem = new Map<string, AuditEntry[]>()
    for (let i = 0; i < rows.length; i += 200) {
      const ids = rows.slice(i, i + 200).map((r) => r.id)
      const audit = await this.db.all<{ item_id: string; entry: string }>(
        `SELECT item_id, entry FROM review_audit WHERE item_id IN (${ids.map(() => '?').join(', ')}) ORDER BY item_id, seq`,
        ids
      )
      for (const a of audit) {
        const list = byItem.get(a.item_id) ?? []
        list.push(JSON.parse(a.entry) as AuditEntry)
        byItem.set(a.item_id, list)
      }
    }
    return rows.map((r) => toRecord(r, byItem.get(r.id) ?? []))
  }

  async pendingCount(): Promise<number> {
    const r = await this.db.get<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM review_items WHERE status = 'pending'"
    )
    return num(r?.n ?? 0)
  }

  async doomed(cutoff: number, eventIds: ReadonlySet<string>): Promise<ReviewRecord[]> {
    const rows = await this.db.all<ItemRow & { alive: number | string }>(
      `SELECT r.*, (SELECT COUNT(*) FROM events e WHERE e.id = r.event_id) AS alive FROM review_items r WHERE r.created_at < ?`,
      [cutoff]
    )
    return this.withAudit(rows.filter((r) => eventIds.has(r.event_id) || num(r.alive) === 0))
  }

  async media(): Promise<string[]> {
    const rows = await this.db.all<{ body: string }>('SELECT body FROM review_items')
    const out: string[] = []
    for (const r of rows) {
      const b = JSON.parse(r.body) as Body
      out.push(b.crop, b.snapshot)
    }
    return out
  }

  async rejections(): Promise<RejectionRecord[]> {
    const rows = await this.db.all<{
      camera_id: string
      track_id: string
      person_id: string
      at: number | string
      operator: string
    }>('SELECT camera_id, track_id, person_id, at, operator FROM rejections ORDER BY at')
    return rows.map((r) => ({
      cameraId: r.camera_id,
      trackId: r.track_id,
      personId: r.person_id,
      at: num(r.at),
      operator: r.operator
    }))
  }

  async insertRejection(r: RejectionRecord): Promise<void> {
    await this.db.run('INSERT INTO rejections (camera_id, track_id, person_id, at, operator) VALUES (?, ?, ?, ?, ?)', [
      r.cameraId,
      r.trackId,
      r.personId,
      r.at,
      r.operator
    ])
  }

  async purgeRejections(before: number): Promise<number> {
    return (await this.db.run('DELETE FROM rejections WHERE at < ?', [before])).changes
  }

  async count(): Promise<{ items: number; audit: number; rejections: number }> {
    const n = async (t: string): Promise<number> =>
      num((await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${t}`))?.n ?? 0)
    return { items: await n('review_items'), audit: await n('review_audit'), rejections: await n('rejections') }
  }
}
