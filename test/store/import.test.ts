// The one-time import of a 0.1 data dir: db.json written by the 0.1 Store (the legacy codec of
// src/main/store/db.ts, the code that wrote every 0.1 db.json), imported into a real SQLite store
// and settings.json, checked kind by kind; a failed import changes nothing.
import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeVector } from '../../src/main/gallery/vectors'
import { Store } from '../../src/main/store/db'
import { importLegacyDb } from '../../src/main/store/import-legacy'
import type { DbSchema } from '../../src/main/store/schema'
import { SETTINGS_CODEC, type SettingsDoc } from '../../src/main/store/settings'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { randomUnit, rng } from '../gallery/helpers'
import { recordingLogger, sampleEvent, tempDir } from './helpers'

let dir: string
let cleanup: () => Promise<void>
const closers: (() => Promise<void>)[] = []

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-import-'))
})
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
  await cleanup()
})

const Q = { sizePx: 120, detScore: 0.98, blur: 200, yawDeg: 3, pitchDeg: 1, score: 0.9 }

/** A 0.1 db.json with every kind of record, written by the 0.1 Store itself. */
async function write01(extra: (d: DbSchema) => void = () => {}): Promise<{ vectors: Float32Array[] }> {
  const legacy = await Store.open(dir, { logger: recordingLogger(), lock: false })
  const vectors: Float32Array[] = []
  await legacy.mutate((d) => {
    for (let p = 0; p < 3; p++) {
      const photos = [0, 1].map((k) => {
        const v = randomUnit(rng(p * 10 + k + 1))
        vectors.push(v)
        return {
          id: `ph-${p}-${k}`,
          personId: `p${p}`,
          media: `photos/x/${p}-${k}.jpg`,
          addedAt: 1000 + k,
          source: 'upload' as const,
          quality: Q,
          embedding: encodeVector(v)
        }
      })
      d.people.push({
        id: `p${p}`,
        name: `Person ${p}`,
        notes: 'n',
        threshold: p === 1 ? 0.6 : null,
        createdAt: 1,
        updatedAt: 2,
        photos
      })
    }
    d.cameras.push({
      id: 'cam-1',
      name: 'Door',
      url: 'rtsp://user:pw@127.0.0.1/door',
      enabled: true,
      detectFps: 5,
      maxDetectWidth: 640,
      minFaceSize: 24,
      loop: false
    })
    d.settings.retentionDays = 14
    for (let i = 0; i < 250; i++)
      d.events.push(sampleEvent({ id: `ev-${i}`, personId: `p${i % 3}`, startedAt: 1_750_000_000_000 + i * 1000 }))
    d.review.push({
      id: 'rv-1',
      eventId: 'ev-1',
      cameraId: 'cam-1',
      trackId: 't1',
      createdAt: 5,
      status: 'confirmed',
      version: 1,
      candidates: [{ personId: 'p1', name: 'Person 1', score: 0.45 }],
      personId: 'p1',
      box: { x: 1, y: 2, w: 3, h: 4 },
      crop: 'crops/a.jpg',
      snapshot: 'snapshots/a.jpg',
      cropQuality: Q,
      decidedBy: 'alice',
      decidedAt: 6,
      audit: [
        {
          at: 6,
          operator: 'alice',
          action: 'confirm',
          previous: { status: 'pending', personId: 'p1' },
          next: { status: 'confirmed', personId: 'p1' },
          addedPhotoId: null
        }
      ],
      cropEmbedding: encodeVector(randomUnit(rng(99)))
    })
    d.rejections.push({ cameraId: 'cam-1', trackId: 't9', personId: 'p2', at: 7, operator: 'bob' })
    extra(d)
  })
  await legacy.close()
  return { vectors }
}

async function openTargets(): Promise<{ sql: SqlStore; settings: Store<SettingsDoc> }> {
  const settings = await Store.open<SettingsDoc>(dir, { codec: SETTINGS_CODEC, logger: recordingLogger() })
  const sql = await openSqlStore({ dataDir: dir })
  closers.push(
    () => settings.close(),
    () => sql.close()
  )
  return { sql, settings }
}

describe('import of a 0.1 db.json', () => {
  it('imports every kind, checks the counts, keeps db.json as db.json.migrated and logs it', async () => {
    const { vectors } = await write01()
    const { sql, settings } = await openTargets()
    const log = recordingLogger()
    const report = await importLegacyDb(dir, sql, settings, log)
    expect(report?.counts).toEqual({
      people: 3,
      photos: 6,
      cameras: 1,
      events: 250,
      review: 1,
      audit: 1,
      rejections: 1
    })
    expect(report?.quarantined).toEqual([])
    // embeddings arrive bit for bit, as float32 BLOBs
    const people = await sql.gallery.loadAll()
    expect(people.map((p) => p.name)).toEqual(['Person 0', 'Person 1', 'Person 2'])
    expect(people[1].threshold).toBe(0.6)
    expect(people.flatMap((p) => p.photos.map((ph) => Array.from(ph.embedding)))).toEqual(
      vectors.map((v) => Array.from(v))
    )
    expect((await sql.db.get<{ t: string }>('SELECT typeof(embedding) AS t FROM photos LIMIT 1'))?.t).toBe('blob')
    expect(await sql.events.total()).toBe(250)
    expect((await sql.events.get('ev-7'))?.personId).toBe('p1')
    const rv = await sql.review.load('rv-1')
    expect(rv).toMatchObject({
      status: 'confirmed',
      decidedBy: 'alice',
      audit: [{ action: 'confirm', operator: 'alice' }]
    })
    expect(rv?.cropEmbedding).toHaveLength(512)
    expect(await sql.review.rejections()).toEqual([
      { cameraId: 'cam-1', trackId: 't9', personId: 'p2', at: 7, operator: 'bob' }
    ])
    expect(settings.data.cameras.map((c) => c.url)).toEqual(['rtsp://user:pw@127.0.0.1/door'])
    expect(settings.data.settings.retentionDays).toBe(14)
    expect(existsSync(join(dir, 'db.json'))).toBe(false)
    expect(existsSync(join(dir, 'db.json.migrated'))).toBe(true)
    expect(log.lines.join('\n')).toMatch(/info store: imported .*3 people, 6 photos, 250 events/)
    // settings.json really holds them (not just memory)
    const onDisk = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as SettingsDoc
    expect(onDisk.cameras).toHaveLength(1)
    // nothing more to import on the next start
    expect(await importLegacyDb(dir, sql, settings, log)).toBeNull()
  })

  it('sets aside records that are not valid (a null person, a short embedding), says so, imports the rest', async () => {
    await write01((d) => {
      ;(d.people as unknown[]).push(null)
      d.people[0].photos[1].embedding = 'AAAA'
      ;(d.events as unknown[]).push({ id: 'broken' })
    })
    const { sql, settings } = await openTargets()
    const log = recordingLogger()
    const report = await importLegacyDb(dir, sql, settings, log)
    expect(report?.counts).toMatchObject({ people: 3, photos: 5, events: 250 })
    expect(report?.quarantined).toHaveLength(3)
    expect(report?.quarantineFile && existsSync(report.quarantineFile)).toBe(true)
    expect(log.lines.filter((l) => l.startsWith('error store: import:'))).toHaveLength(3)
  })

  it('a failed import changes nothing and says why', async () => {
    // two events with one id: the database refuses the second half-way through the import
    await write01((d) => d.events.push({ ...d.events[0] }))
    const { sql, settings } = await openTargets()
    const settingsBefore = await readFile(join(dir, 'settings.json'), 'utf8')
    const dbJsonBefore = await readFile(join(dir, 'db.json'), 'utf8')
    const log = recordingLogger()
    await expect(importLegacyDb(dir, sql, settings, log)).rejects.toThrow(
      /import of .*db\.json failed, nothing was changed: .*UNIQUE/
    )
    expect(await sql.events.total()).toBe(0)
    expect(await sql.gallery.count()).toEqual({ people: 0, photos: 0 })
    expect(await readFile(join(dir, 'settings.json'), 'utf8')).toBe(settingsBefore)
    expect(settings.data.cameras).toEqual([])
    expect(await readFile(join(dir, 'db.json'), 'utf8')).toBe(dbJsonBefore)
    expect((await readdir(dir)).filter((f) => f.includes('migrated'))).toEqual([])
    expect(log.lines.join('\n')).toMatch(/error store: import of .* failed/)
  })

  it('refuses to import into a database that already holds data', async () => {
    await write01()
    const { sql, settings } = await openTargets()
    await sql.gallery.insertPerson({
      id: 'x',
      name: 'Existing',
      notes: '',
      threshold: null,
      createdAt: 1,
      updatedAt: 1
    })
    await expect(importLegacyDb(dir, sql, settings, recordingLogger())).rejects.toThrow(/already holds data/)
    expect(existsSync(join(dir, 'db.json'))).toBe(true)
  })
})
