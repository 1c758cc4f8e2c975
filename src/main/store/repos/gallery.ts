// People and their reference photos in SQL. Embeddings are float32 BLOB / bytea (little-endian),
// never text: 2 kB per 512-d vector and no parsing when the matcher is built at start.
import { endianness } from 'node:os'
import type { FaceQuality } from '../../../shared/types'
import type { SqlDatabase, SqlEngine, SqlExecutor, SqlMigration, SqlRow } from '../sql/database'

const blob = (e: SqlEngine): string => (e === 'postgres' ? 'BYTEA' : 'BLOB')

export const GALLERY_MIGRATIONS: SqlMigration[] = [
  {
    box: 'gallery',
    version: 1,
    name: 'people and reference photos with float32 embeddings',
    sql: Object.fromEntries(
      (['sqlite', 'postgres'] as const).map((e) => [
        e,
        `
        CREATE TABLE people (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          -- trimmed, NFC, lower-case name: two instances cannot create the same person at once
          name_key TEXT NOT NULL UNIQUE,
          notes TEXT NOT NULL,
          threshold DOUBLE PRECISION,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL
        );
        CREATE TABLE photos (
          id TEXT PRIMARY KEY,
          person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
          media TEXT NOT NULL,
          added_at BIGINT NOT NULL,
          source TEXT NOT NULL,
          quality TEXT NOT NULL,
          embedding ${blob(e)} NOT NULL
        );
        CREATE INDEX photos_person ON photos (person_id, added_at)
        `
      ])
    ) as Record<SqlEngine, string>
  }
]

export interface PersonRecord {
  id: string
  name: string
  notes: string
  threshold: number | null
  createdAt: number
  updatedAt: number
}

export interface PhotoRecord {
  id: string
  personId: string
  media: string
  addedAt: number
  source: 'upload' | 'review'
  quality: FaceQuality
  embedding: Float32Array
}

export type PersonWithPhotos = PersonRecord & { photos: PhotoRecord[] }

export const nameKey = (name: string): string => name.trim().normalize('NFC').toLocaleLowerCase('en')

const littleEndian = endianness() === 'LE'

export function embeddingToBlob(v: Float32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength))
  const b = Buffer.allocUnsafe(v.length * 4)
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i], i * 4)
  return new Uint8Array(b)
}

export function blobToEmbedding(b: Uint8Array): Float32Array {
  if (b.byteLength % 4 !== 0) throw new Error(`embedding has ${b.byteLength} bytes, not a whole number of float32`)
  const out = new Float32Array(b.byteLength / 4)
  // copied: the bytes may sit at an unaligned offset of a shared buffer
  if (littleEndian) new Uint8Array(out.buffer).set(b)
  else {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  }
  return out
}

interface PersonRow extends SqlRow {
  id: string
  name: string
  notes: string
  threshold: number | string | null
  created_at: number | string
  updated_at: number | string
}

interface PhotoRow extends SqlRow {
  id: string
  person_id: string
  media: string
  added_at: number | string
  source: string
  quality: string
  embedding: Uint8Array
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))

function toPerson(r: PersonRow): PersonRecord {
  return {
    id: r.id,
    name: r.name,
    notes: r.notes,
    threshold: r.threshold === null ? null : num(r.threshold),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at)
  }
}

function toPhoto(r: PhotoRow): PhotoRecord {
  return {
    id: r.id,
    personId: r.person_id,
    media: r.media,
    addedAt: num(r.added_at),
    source: r.source === 'review' ? 'review' : 'upload',
    quality: JSON.parse(r.quality) as FaceQuality,
    embedding: blobToEmbedding(r.embedding)
  }
}

/** Unique-constraint violation of either engine (SQLite SQLITE_CONSTRAINT_UNIQUE, PostgreSQL 23505). */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false
  const raw = (e as { code?: unknown }).code
  const code = typeof raw === 'string' ? raw : ''
  const message = e instanceof Error ? e.message : ''
  return code === '23505' || code.startsWith('SQLITE_CONSTRAINT') || /UNIQUE constraint/i.test(message)
}

export interface GalleryRepo {
  /** everything, photos in the order they were added (start-up: builds the matcher) */
  loadAll(): Promise<PersonWithPhotos[]>
  /** one person with photos, or null (another instance changed it) */
  load(id: string): Promise<PersonWithPhotos | null>
  insertPerson(p: PersonRecord): Promise<void>
  updatePerson(p: PersonRecord): Promise<boolean>
  /** removes the person and (cascade) their photos */
  deletePerson(id: string): Promise<boolean>
  insertPhoto(ph: PhotoRecord, personUpdatedAt: number): Promise<void>
  deletePhoto(personId: string, photoId: string, personUpdatedAt: number): Promise<boolean>
  count(): Promise<{ people: number; photos: number }>
}

export class SqlGalleryRepo implements GalleryRepo {
  constructor(private readonly db: SqlDatabase) {}

  private tx<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(fn)
  }

  async loadAll(): Promise<PersonWithPhotos[]> {
    const people = await this.db.all<PersonRow>('SELECT * FROM people ORDER BY created_at, id')
    const byId = new Map<string, PersonWithPhotos>()
    for (const r of people) byId.set(r.id, { ...toPerson(r), photos: [] })
    // keyset batches: 30 000 photos are 60 MB of BLOBs, read in slices that each block briefly
    let after = ''
    for (;;) {
      const rows = await this.db.all<PhotoRow>('SELECT * FROM photos WHERE id > ? ORDER BY id LIMIT 2000', [after])
      if (rows.length === 0) break
      for (const r of rows) byId.get(r.person_id)?.photos.push(toPhoto(r))
      after = rows[rows.length - 1].id
    }
    for (const p of byId.values()) p.photos.sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : 1))
    return [...byId.values()]
  }

  async load(id: string): Promise<PersonWithPhotos | null> {
    const r = await this.db.get<PersonRow>('SELECT * FROM people WHERE id = ?', [id])
    if (!r) return null
    const photos = await this.db.all<PhotoRow>('SELECT * FROM photos WHERE person_id = ? ORDER BY added_at, id', [id])
    return { ...toPerson(r), photos: photos.map(toPhoto) }
  }

  async insertPerson(p: PersonRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO people (id, name, name_key, notes, threshold, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [p.id, p.name, nameKey(p.name), p.notes, p.threshold, p.createdAt, p.updatedAt]
    )
  }

  async updatePerson(p: PersonRecord): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE people SET name = ?, name_key = ?, notes = ?, threshold = ?, updated_at = ? WHERE id = ?',
      [p.name, nameKey(p.name), p.notes, p.threshold, p.updatedAt, p.id]
    )
    return r.changes > 0
  }

  async deletePerson(id: string): Promise<boolean> {
    return this.tx(async (tx) => {
      // explicit: PostgreSQL cascades by the constraint, SQLite only with foreign_keys on
      await tx.run('DELETE FROM photos WHERE person_id = ?', [id])
      return (await tx.run('DELETE FROM people WHERE id = ?', [id])).changes > 0
    })
  }

  async insertPhoto(ph: PhotoRecord, personUpdatedAt: number): Promise<void> {
    await this.tx(async (tx) => {
      const r = await tx.run('UPDATE people SET updated_at = ? WHERE id = ?', [personUpdatedAt, ph.personId])
      if (r.changes === 0) throw Object.assign(new Error(`person ${ph.personId} does not exist`), { code: 'not_found' })
      await tx.run(
        'INSERT INTO photos (id, person_id, media, added_at, source, quality, embedding) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [ph.id, ph.personId, ph.media, ph.addedAt, ph.source, JSON.stringify(ph.quality), embeddingToBlob(ph.embedding)]
      )
    })
  }

  async deletePhoto(personId: string, photoId: string, personUpdatedAt: number): Promise<boolean> {
    return this.tx(async (tx) => {
      const r = await tx.run('DELETE FROM photos WHERE id = ? AND person_id = ?', [photoId, personId])
      if (r.changes === 0) return false
      await tx.run('UPDATE people SET updated_at = ? WHERE id = ?', [personUpdatedAt, personId])
      return true
    })
  }

  async count(): Promise<{ people: number; photos: number }> {
    const p = await this.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM people')
    const ph = await this.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM photos')
    return { people: num(p?.n ?? 0), photos: num(ph?.n ?? 0) }
  }
}
