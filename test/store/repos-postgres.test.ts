// The same repositories on a real PostgreSQL 15 (own throw-away server): events with the queries
// the console makes, stats, counts and purge; the gallery with float32 embeddings as bytea; review
// items with audit and the conditional decision. Proves the SQL is portable, not only SQLite's.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventRecord } from '../../src/shared/types'
import { EventLog } from '../../src/main/events/events'
import { MediaStore } from '../../src/main/store/media'
import { insertEvents } from '../../src/main/store/repos/events'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { randomUnit, rng } from '../gallery/helpers'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'

const skip = skipWithoutPostgres('repositories on PostgreSQL')
let server: PgServer
let sql: SqlStore
let dir: string

beforeAll(async () => {
  if (skip) return
  server = await startPostgres()
  dir = await mkdtemp(join(tmpdir(), 'vigil-repos-pg-'))
  sql = await openSqlStore({ url: server.url, dataDir: dir })
})
afterAll(async () => {
  await sql?.close()
  await server?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const H = 3_600_000
const T0 = Date.UTC(2026, 10, 1)

function ev(i: number): EventRecord {
  return {
    id: `e${String(i).padStart(4, '0')}`,
    cameraId: `cam-${i % 3}`,
    trackId: `t${i}`,
    band: i % 4 === 0 ? 'unknown' : 'match',
    personId: i % 4 === 0 ? null : `p${i % 5}`,
    personName: i % 4 === 0 ? null : `P ${i % 5}`,
    score: (i % 20) / 20,
    decision: 'auto',
    startedAt: T0 + i * H,
    updatedAt: T0 + i * H + 5000,
    box: { x: 1.5, y: 2, w: 30, h: 40 },
    crop: null,
    snapshot: null,
    reviewItemId: null
  }
}

describe.skipIf(skip)('repositories on PostgreSQL', () => {
  it('events: pages, counts over several days, stats in slices, purge in batches', async () => {
    await sql.db.transaction((tx) =>
      insertEvents(
        tx,
        Array.from({ length: 200 }, (_, i) => ev(i))
      )
    )
    const log = new EventLog(sql.events, new MediaStore(dir), { purgeBatch: 30 })
    const all = await log.query({})
    expect(all.total).toBe(200)
    expect(all.items[0].id).toBe('e0199')
    expect(all.items[0]).toEqual(ev(199))
    const range = await log.query({ from: T0 + 10 * H, to: T0 + 100 * H, limit: 5 })
    expect(range.total).toBe(91)
    expect(range.items.map((e) => e.id)).toEqual(['e0100', 'e0099', 'e0098', 'e0097', 'e0096'])
    expect((await log.query({ cameraId: 'cam-1' })).total).toBe(67)
    expect((await log.query({ personId: 'p1', from: T0 })).total).toBe(30)
    const stats = await log.stats({ from: T0, to: T0 + 199 * H })
    expect(stats.perHour.reduce((n, h) => n + h.count, 0)).toBe(200)
    expect(stats.confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(200)
    const purged = await log.purge(1, T0 + 100 * H + 86_400_000)
    expect(purged.events).toBe(100)
    expect(await sql.events.total()).toBe(100)
  })

  it('gallery: float32 embeddings round-trip as bytea; a duplicate name is a unique violation', async () => {
    const v = randomUnit(rng(3))
    await sql.gallery.insertPerson({ id: 'p', name: 'Ada', notes: '', threshold: 0.5, createdAt: 1, updatedAt: 1 })
    await sql.gallery.insertPhoto(
      {
        id: 'ph',
        personId: 'p',
        media: 'm',
        addedAt: 2,
        source: 'upload',
        quality: { sizePx: 1, detScore: 1, blur: 1, yawDeg: 0, pitchDeg: 0, score: 1 },
        embedding: v
      },
      2
    )
    const [p] = await sql.gallery.loadAll()
    expect(p.threshold).toBe(0.5)
    expect(Array.from(p.photos[0].embedding)).toEqual(Array.from(v))
    await expect(
      sql.gallery.insertPerson({ id: 'q', name: ' ADA ', notes: '', threshold: null, createdAt: 1, updatedAt: 1 })
    ).rejects.toMatchObject({ code: '23505' })
  })
})
