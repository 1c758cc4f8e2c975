// One-time import of a Vigil 0.1 data dir: db.json (everything in one JSON document) into the SQL
// store (people, photos, embeddings, events, review items with their audit, rejections) and
// settings.json (settings, cameras). All or nothing: the SQL part is one transaction checked by
// counting each kind before it commits, and settings.json is put back if that fails, so a failed
// import leaves everything as it was and says why. Afterwards db.json is kept as db.json.migrated.
// Records that are not valid (a `null` person, an embedding of the wrong length) are not imported;
// they are written to db.json.quarantine-<time> and named in the log, and the import goes on.
import { createHash } from 'node:crypto'
import { readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditEntry, CameraConfig, EventRecord, FaceQuality } from '../../shared/types'
import type { Logger } from '../log/logger'
import { DB_FILE, fileStamp, type Store } from './db'
import { upgrade } from './migrations'
import { insertEvents } from './repos/events'
import { embeddingToBlob, nameKey } from './repos/gallery'
import type { SqlExecutor } from './sql/database'
import type { SqlStore } from './sql-store'
import { validateCameras, validateSettings, type SettingsDoc } from './settings'

export const MIGRATED_SUFFIX = '.migrated'

export interface ImportCounts {
  people: number
  photos: number
  cameras: number
  events: number
  review: number
  audit: number
  rejections: number
}

export interface ImportReport {
  counts: ImportCounts
  /** records not imported, with why */
  quarantined: string[]
  quarantineFile: string | null
  movedTo: string
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

const EMBEDDING_DIM = 512

/** A 0.1 embedding: base64 of 512 little-endian float32, finite and not all zero. */
export function decodeLegacyEmbedding(b64: unknown): Float32Array {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error('embedding is not base64')
  const bytes = Buffer.from(b64, 'base64')
  if (bytes.length !== EMBEDDING_DIM * 4)
    throw new Error(`embedding has ${bytes.length / 4} values, expected ${EMBEDDING_DIM}`)
  const v = new Float32Array(EMBEDDING_DIM)
  for (let i = 0; i < EMBEDDING_DIM; i++) v[i] = bytes.readFloatLE(i * 4)
  if (!v.every(Number.isFinite) || v.every((x) => x === 0)) throw new Error('embedding is not finite or all zeros')
  return v
}

interface Bad {
  kind: string
  index: number
  why: string
  record: unknown
}

/** Counts in the SQL store, per kind, for the check before commit. */
async function countAll(tx: SqlExecutor): Promise<Omit<ImportCounts, 'cameras'>> {
  const n = async (sql: string): Promise<number> => Number((await tx.get<{ n: number | string }>(sql))?.n ?? 0)
  return {
    people: await n('SELECT COUNT(*) AS n FROM people'),
    photos: await n('SELECT COUNT(*) AS n FROM photos'),
    events: await n('SELECT COUNT(*) AS n FROM events'),
    review: await n('SELECT COUNT(*) AS n FROM review_items'),
    audit: await n('SELECT COUNT(*) AS n FROM review_audit'),
    rejections: await n('SELECT COUNT(*) AS n FROM rejections')
  }
}

function checkEvent(e: unknown): string | null {
  if (!isRecord(e)) return 'not an object'
  for (const k of ['id', 'cameraId', 'trackId', 'band', 'decision']) if (!isStr(e[k])) return `${k} missing`
  for (const k of ['score', 'startedAt', 'updatedAt']) if (!isNum(e[k])) return `${k} is not a number`
  const b = e.box
  if (!isRecord(b) || !['x', 'y', 'w', 'h'].every((k) => isNum(b[k]))) return 'box is invalid'
  return null
}

/**
 * Imports `<dataDir>/db.json` when it exists and was not imported yet. Returns null when there is
 * nothing to import. Throws (having changed nothing) when the import fails.
 */
export async function importLegacyDb(
  dataDir: string,
  sql: SqlStore,
  settings: Store<SettingsDoc>,
  log: Logger
): Promise<ImportReport | null> {
  const file = join(dataDir, DB_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return null
    throw new Error(`cannot read ${file} for the import: ${(e as Error).message}`, { cause: e })
  }
  const sha256 = createHash('sha256').update(text).digest('hex')
  const movedTo = `${file}${MIGRATED_SUFFIX}`
  const already = await sql.db.get('SELECT sha256 FROM legacy_imports WHERE sha256 = ?', [sha256])
  if (already) {
    // imported before, then stopped before the rename: finish the rename only
    await rename(file, await freeName(movedTo))
    log.warn({ file }, 'store: db.json had already been imported; renamed it now')
    return null
  }

  let doc
  try {
    doc = upgrade(JSON.parse(text) as unknown, file).data
  } catch (e) {
    throw new Error(`cannot import ${file}: ${(e as Error).message}. Nothing was changed; the file is untouched.`, {
      cause: e
    })
  }

  const bad: Bad[] = []
  const people: {
    id: string
    name: string
    notes: string
    threshold: number | null
    createdAt: number
    updatedAt: number
  }[] = []
  const photos: {
    id: string
    personId: string
    media: string
    addedAt: number
    source: string
    quality: FaceQuality
    embedding: Uint8Array
  }[] = []
  const names = new Set<string>()
  doc.people.forEach((p: unknown, i) => {
    if (!isRecord(p) || !isStr(p.id) || !isStr(p.name))
      return void bad.push({ kind: 'person', index: i, why: 'id or name missing', record: p })
    const key = nameKey(p.name)
    if (names.has(key)) return void bad.push({ kind: 'person', index: i, why: `duplicate name "${p.name}"`, record: p })
    names.add(key)
    const now = Date.now()
    people.push({
      id: p.id,
      name: p.name.trim(),
      notes: typeof p.notes === 'string' ? p.notes : '',
      threshold: isNum(p.threshold) && p.threshold >= 0 && p.threshold <= 1 ? p.threshold : null,
      createdAt: isNum(p.createdAt) ? p.createdAt : now,
      updatedAt: isNum(p.updatedAt) ? p.updatedAt : now
    })
    const list: unknown[] = Array.isArray(p.photos) ? p.photos : []
    list.forEach((ph, j) => {
      if (!isRecord(ph) || !isStr(ph.id) || !isStr(ph.media) || !isRecord(ph.quality)) {
        return void bad.push({ kind: 'photo', index: j, why: `photo of ${String(p.name)} incomplete`, record: ph })
      }
      let vec: Float32Array
      try {
        vec = decodeLegacyEmbedding(ph.embedding)
      } catch (e) {
        return void bad.push({
          kind: 'photo',
          index: j,
          why: `photo ${ph.id} of ${String(p.name)}: ${(e as Error).message}`,
          record: ph
        })
      }
      photos.push({
        id: ph.id,
        personId: p.id as string,
        media: ph.media,
        addedAt: isNum(ph.addedAt) ? ph.addedAt : now,
        source: ph.source === 'review' ? 'review' : 'upload',
        quality: ph.quality as unknown as FaceQuality,
        embedding: embeddingToBlob(vec)
      })
    })
  })
  const events: EventRecord[] = []
  doc.events.forEach((e: unknown, i) => {
    const why = checkEvent(e)
    if (why) return void bad.push({ kind: 'event', index: i, why, record: e })
    const ev = e as EventRecord
    events.push({
      ...ev,
      personId: ev.personId ?? null,
      personName: ev.personName ?? null,
      crop: ev.crop ?? null,
      snapshot: ev.snapshot ?? null,
      reviewItemId: ev.reviewItemId ?? null
    })
  })
  const review = doc.review.filter((r: unknown, i) => {
    const ok =
      isRecord(r) &&
      isStr(r.id) &&
      isStr(r.eventId) &&
      isStr(r.status) &&
      isNum(r.version) &&
      isNum(r.createdAt) &&
      isStr(r.crop)
    if (!ok) bad.push({ kind: 'review item', index: i, why: 'incomplete', record: r })
    return ok
  })
  const rejections = doc.rejections.filter((r: unknown, i) => {
    const ok = isRecord(r) && isStr(r.cameraId) && isStr(r.trackId) && isStr(r.personId) && isNum(r.at)
    if (!ok) bad.push({ kind: 'rejection', index: i, why: 'incomplete', record: r })
    return ok
  })
  const cams = validateCameras(doc.cameras)
  const sets = validateSettings(doc.settings)
  const auditCount = review.reduce((n, r) => n + (Array.isArray(r.audit) ? r.audit.length : 0), 0)
  const expected: ImportCounts = {
    people: people.length,
    photos: photos.length,
    cameras: cams.cameras.length,
    events: events.length,
    review: review.length,
    audit: auditCount,
    rejections: rejections.length
  }

  // settings.json first (it can be put back), then the SQL part in one transaction
  const before = structuredClone(settings.data)
  const cameraIds = new Set(settings.data.cameras.map((c) => c.id))
  await settings.mutate((d) => {
    d.settings = sets.settings
    d.cameras = [...d.cameras, ...cams.cameras.filter((c: CameraConfig) => !cameraIds.has(c.id))]
  })
  try {
    await sql.db.transaction(async (tx) => {
      const empty = await countAll(tx)
      if (empty.people + empty.events + empty.review > 0) {
        throw new Error(
          `the database already holds data (${empty.people} people, ${empty.events} events); a 0.1 db.json is only imported into an empty one`
        )
      }
      for (const p of people) {
        await tx.run(
          'INSERT INTO people (id, name, name_key, notes, threshold, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [p.id, p.name, nameKey(p.name), p.notes, p.threshold, p.createdAt, p.updatedAt]
        )
      }
      for (const ph of photos) {
        await tx.run(
          'INSERT INTO photos (id, person_id, media, added_at, source, quality, embedding) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [ph.id, ph.personId, ph.media, ph.addedAt, ph.source, JSON.stringify(ph.quality), ph.embedding]
        )
      }
      await insertEvents(tx, events, 200)
      for (const r of review) {
        const body = {
          candidates: r.candidates ?? [],
          box: r.box,
          crop: r.crop,
          snapshot: r.snapshot,
          cropQuality: r.cropQuality
        }
        let emb: Uint8Array | null = null
        if (typeof r.cropEmbedding === 'string') {
          try {
            emb = embeddingToBlob(decodeLegacyEmbedding(r.cropEmbedding))
          } catch {
            bad.push({
              kind: 'review embedding',
              index: 0,
              why: `item ${r.id}: unusable crop embedding (item kept without it)`,
              record: null
            })
          }
        }
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
            r.personId ?? null,
            r.decidedBy ?? null,
            r.decidedAt ?? null,
            JSON.stringify(body),
            emb
          ]
        )
        const audit: AuditEntry[] = Array.isArray(r.audit) ? r.audit : []
        for (let i = 0; i < audit.length; i++) {
          await tx.run('INSERT INTO review_audit (item_id, seq, at, entry) VALUES (?, ?, ?, ?)', [
            r.id,
            i,
            isNum(audit[i]?.at) ? audit[i].at : 0,
            JSON.stringify(audit[i])
          ])
        }
      }
      for (const r of rejections) {
        await tx.run('INSERT INTO rejections (camera_id, track_id, person_id, at, operator) VALUES (?, ?, ?, ?, ?)', [
          r.cameraId,
          r.trackId,
          r.personId,
          r.at,
          typeof r.operator === 'string' ? r.operator : ''
        ])
      }
      const got = await countAll(tx)
      const mismatch = (Object.keys(got) as (keyof typeof got)[]).filter((k) => got[k] !== expected[k])
      if (mismatch.length > 0) {
        throw new Error(
          `import check failed: ${mismatch.map((k) => `${k} ${got[k]} stored, ${expected[k]} expected`).join('; ')}`
        )
      }
      await tx.run('INSERT INTO legacy_imports (sha256, imported_at, counts) VALUES (?, ?, ?)', [
        sha256,
        Date.now(),
        JSON.stringify(expected)
      ])
    })
  } catch (e) {
    await settings
      .mutate((d) => {
        d.settings = before.settings
        d.cameras = before.cameras
      })
      .catch((err: unknown) =>
        log.error({ err: String(err) }, 'store: could not put settings.json back after a failed import')
      )
    const why = e instanceof Error ? e.message : String(e)
    log.error({ file }, `store: import of ${file} failed, nothing was changed: ${why}`)
    throw new Error(`import of ${file} failed, nothing was changed: ${why}`, { cause: e })
  }

  bad.push(...sets.problems.map((p) => ({ kind: 'setting', index: 0, why: p, record: null })))
  bad.push(...cams.problems.map((p) => ({ kind: 'camera', index: 0, why: p, record: null })))
  let quarantineFile: string | null = null
  if (bad.length > 0) {
    quarantineFile = `${file}.quarantine-${fileStamp(Date.now())}`
    await writeFile(quarantineFile, JSON.stringify(bad, null, 1), { mode: 0o600 })
    for (const b of bad) log.error({ kind: b.kind }, `store: import: ${b.kind} #${b.index} not imported: ${b.why}`)
  }
  const target = await freeName(movedTo)
  await rename(file, target)
  log.info(
    { ...expected, quarantined: bad.length, movedTo: target },
    `store: imported ${file} (${expected.people} people, ${expected.photos} photos, ${expected.events} events, ${expected.review} review items, ${expected.rejections} rejections, ${expected.cameras} cameras); kept as ${target}`
  )
  return { counts: expected, quarantined: bad.map((b) => `${b.kind}: ${b.why}`), quarantineFile, movedTo: target }
}

async function freeName(base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const name = i === 0 ? base : `${base}-${i}`
    const exists = await stat(name).then(
      () => true,
      () => false
    )
    if (!exists) return name
  }
}
