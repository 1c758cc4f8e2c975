// Persistence of the face memory behind small interfaces, and their one SQL implementation on the
// store's SqlExecutor (the same queries run on SQLite and PostgreSQL; `?` placeholders throughout).
import type { Band, FaceQuality } from '../../shared/types'
import type { SqlExecutor, SqlRow } from '../store/sql/database'

export type GroupStatus = 'active' | 'ignored'

export interface StoredGroup {
  id: string
  /** quality-weighted sum of member embeddings (cluster.ts GroupVector.sum) */
  sum: Float32Array
  members: number
  /** sightings (finished tracks) that joined the group */
  visits: number
  firstSeen: number
  lastSeen: number
  cameras: string[]
  bestCrop: string | null
  bestQuality: number
  status: GroupStatus
  /** set when an operator named the group (it then stops being a stranger) */
  personId: string | null
}

export interface StoredSighting {
  id: string
  cameraId: string
  trackId: string
  firstSeen: number
  lastSeen: number
  /** quality-weighted pooled embedding of the track, unit length */
  embedding: Float32Array
  quality: number
  /** the best crop's quality measures (size, blur, pose), for the gallery when the group is named */
  qualityDetail: FaceQuality | null
  crop: string | null
  band: Band
  personId: string | null
  score: number
  groupId: string | null
}

export interface StoredRejection {
  id: string
  personId: string
  groupId: string | null
  embedding: Float32Array
  operator: string
  at: number
  itemId: string | null
  undoneAt: number | null
}

export interface GroupRepository {
  allGroups(): Promise<StoredGroup[]>
  saveGroup(g: StoredGroup): Promise<void>
  /** the group, its sightings and its rejections: the biometric data goes with it */
  deleteGroup(id: string): Promise<void>
}

export interface SightingRepository {
  addSighting(s: StoredSighting): Promise<void>
  sightingsOfGroup(groupId: string, limit: number): Promise<StoredSighting[]>
  /** newest first */
  recentSightings(limit: number): Promise<StoredSighting[]>
  moveSightings(fromGroup: string, toGroup: string): Promise<number>
  setSightingGroup(id: string, groupId: string | null): Promise<void>
}

export interface RejectionRepository {
  activeRejections(): Promise<StoredRejection[]>
  addRejection(r: StoredRejection): Promise<void>
  /** marks the rejections an item's decision made as undone; returns how many */
  undoRejectionsOfItem(itemId: string, at: number): Promise<number>
  moveRejections(fromGroup: string, toGroup: string): Promise<void>
}

export type MemoryRepository = GroupRepository & SightingRepository & RejectionRepository

/** Float32Array ↔ little-endian bytes (BLOB / bytea). */
export function vectorToBytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < v.length; i++) dv.setFloat32(i * 4, v[i]!, true)
  return out
}

export function bytesToVector(raw: unknown): Float32Array {
  const b = raw instanceof Uint8Array ? raw : raw instanceof ArrayBuffer ? new Uint8Array(raw) : null
  if (!b) throw new Error(`embedding column is not binary (${typeof raw})`)
  if (b.length % 4 !== 0) throw new Error(`embedding has ${b.length} bytes, not whole float32 values`)
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const out = new Float32Array(b.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true)
  return out
}

const num = (v: unknown): number => Number(v)
/** text columns come back as strings from both drivers; anything else is a broken row */
function strOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null
  if (typeof v !== 'string') throw new Error(`expected a text column, got ${typeof v}`)
  return v
}

function toGroup(r: SqlRow): StoredGroup {
  return {
    id: String(r.id),
    sum: bytesToVector(r.centroid_sum),
    members: num(r.members),
    visits: num(r.visits),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    cameras: JSON.parse(String(r.cameras)) as string[],
    bestCrop: strOrNull(r.best_crop),
    bestQuality: num(r.best_quality),
    status: r.status === 'ignored' ? 'ignored' : 'active',
    personId: strOrNull(r.person_id)
  }
}

function toSighting(r: SqlRow): StoredSighting {
  return {
    id: String(r.id),
    cameraId: String(r.camera_id),
    trackId: String(r.track_id),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    embedding: bytesToVector(r.embedding),
    quality: num(r.quality),
    qualityDetail: r.quality_detail ? (JSON.parse(strOrNull(r.quality_detail)!) as FaceQuality) : null,
    crop: strOrNull(r.crop),
    band: String(r.band) as Band,
    personId: strOrNull(r.person_id),
    score: num(r.score),
    groupId: strOrNull(r.group_id)
  }
}

function toRejection(r: SqlRow): StoredRejection {
  return {
    id: String(r.id),
    personId: String(r.person_id),
    groupId: strOrNull(r.group_id),
    embedding: bytesToVector(r.embedding),
    operator: String(r.operator),
    at: num(r.at),
    itemId: strOrNull(r.item_id),
    undoneAt: r.undone_at === null || r.undone_at === undefined ? null : num(r.undone_at)
  }
}

const SIGHTING_COLS =
  'id, camera_id, track_id, first_seen, last_seen, embedding, quality, quality_detail, crop, band, person_id, score, group_id'

export class SqlMemoryRepository implements MemoryRepository {
  constructor(private readonly db: SqlExecutor) {}

  async allGroups(): Promise<StoredGroup[]> {
    return (await this.db.all('SELECT * FROM memory_groups ORDER BY first_seen, id')).map(toGroup)
  }

  async saveGroup(g: StoredGroup): Promise<void> {
    await this.db.run(
      `INSERT INTO memory_groups (id, centroid_sum, members, visits, first_seen, last_seen, cameras, best_crop, best_quality, status, person_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET centroid_sum = excluded.centroid_sum, members = excluded.members,
         visits = excluded.visits, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
         cameras = excluded.cameras, best_crop = excluded.best_crop, best_quality = excluded.best_quality,
         status = excluded.status, person_id = excluded.person_id`,
      [
        g.id,
        vectorToBytes(g.sum),
        g.members,
        g.visits,
        g.firstSeen,
        g.lastSeen,
        JSON.stringify(g.cameras),
        g.bestCrop,
        g.bestQuality,
        g.status,
        g.personId
      ]
    )
  }

  async deleteGroup(id: string): Promise<void> {
    await this.db.run('DELETE FROM memory_sightings WHERE group_id = ?', [id])
    await this.db.run('DELETE FROM memory_rejections WHERE group_id = ?', [id])
    await this.db.run('DELETE FROM memory_groups WHERE id = ?', [id])
  }

  async addSighting(s: StoredSighting): Promise<void> {
    await this.db.run(
      `INSERT INTO memory_sightings (${SIGHTING_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        s.id,
        s.cameraId,
        s.trackId,
        s.firstSeen,
        s.lastSeen,
        vectorToBytes(s.embedding),
        s.quality,
        s.qualityDetail ? JSON.stringify(s.qualityDetail) : null,
        s.crop,
        s.band,
        s.personId,
        s.score,
        s.groupId
      ]
    )
  }

  async sightingsOfGroup(groupId: string, limit: number): Promise<StoredSighting[]> {
    const rows = await this.db.all(
      `SELECT ${SIGHTING_COLS} FROM memory_sightings WHERE group_id = ? ORDER BY last_seen DESC, id LIMIT ?`,
      [groupId, limit]
    )
    return rows.map(toSighting)
  }

  async recentSightings(limit: number): Promise<StoredSighting[]> {
    const rows = await this.db.all(
      `SELECT ${SIGHTING_COLS} FROM memory_sightings ORDER BY last_seen DESC, id LIMIT ?`,
      [limit]
    )
    return rows.map(toSighting)
  }

  async moveSightings(fromGroup: string, toGroup: string): Promise<number> {
    return (await this.db.run('UPDATE memory_sightings SET group_id = ? WHERE group_id = ?', [toGroup, fromGroup]))
      .changes
  }

  async setSightingGroup(id: string, groupId: string | null): Promise<void> {
    await this.db.run('UPDATE memory_sightings SET group_id = ? WHERE id = ?', [groupId, id])
  }

  async activeRejections(): Promise<StoredRejection[]> {
    const rows = await this.db.all('SELECT * FROM memory_rejections WHERE undone_at IS NULL ORDER BY at, id')
    return rows.map(toRejection)
  }

  async addRejection(r: StoredRejection): Promise<void> {
    await this.db.run(
      `INSERT INTO memory_rejections (id, person_id, group_id, embedding, operator, at, item_id, undone_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.id, r.personId, r.groupId, vectorToBytes(r.embedding), r.operator, r.at, r.itemId, r.undoneAt]
    )
  }

  async undoRejectionsOfItem(itemId: string, at: number): Promise<number> {
    return (
      await this.db.run('UPDATE memory_rejections SET undone_at = ? WHERE item_id = ? AND undone_at IS NULL', [
        at,
        itemId
      ])
    ).changes
  }

  async moveRejections(fromGroup: string, toGroup: string): Promise<void> {
    await this.db.run('UPDATE memory_rejections SET group_id = ? WHERE group_id = ?', [toGroup, fromGroup])
  }
}
