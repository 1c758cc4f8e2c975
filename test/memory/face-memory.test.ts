// The face memory on a real SQLite file: groups and rejections survive a restart, a rejection
// silences the same face on any track, merge/delete carry their biometric data with them.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FaceMemory, type SightingInput } from '../../src/main/memory/face-memory'
import { MEMORY_MIGRATIONS } from '../../src/main/memory/migrations'
import { bytesToVector, SqlMemoryRepository, vectorToBytes } from '../../src/main/memory/repository'
import type { SqlDatabase } from '../../src/main/store/sql/database'
import { openDatabase } from '../../src/main/store/sql/open'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'
import { near, randomUnit } from '../tracking/helpers'

const STRANGER = randomUnit(1)
const OTHER = randomUnit(2)

function sighting(e: Float32Array, o: Partial<SightingInput> = {}): SightingInput {
  return {
    cameraId: 'cam1',
    trackId: `t${Math.random()}`,
    firstSeen: 1000,
    lastSeen: 2000,
    embedding: e,
    quality: 0.8,
    crop: null,
    band: 'unknown',
    personId: null,
    score: 0.1,
    ...o
  }
}

const noPg = skipWithoutPostgres('face memory on PostgreSQL')
let pg: PgServer | null = null
beforeAll(async () => {
  if (!noPg) pg = await startPostgres()
}, 120_000)
afterAll(async () => {
  await pg?.stop()
})

let dbCount = 0
describe.each([
  { engine: 'SQLite', skip: false },
  { engine: 'PostgreSQL', skip: noPg }
])('face memory on $engine', ({ engine, skip }) => {
  let dir: string
  let db: SqlDatabase
  /** PostgreSQL: a fresh database per test, reopened by URL like a restart */
  let url: string | null = null
  const open = async (): Promise<FaceMemory> => {
    db = await openDatabase({ url, dataDir: dir, migrations: MEMORY_MIGRATIONS })
    return FaceMemory.open({ repo: new SqlMemoryRepository(db) })
  }
  beforeEach(async (ctx) => {
    if (skip) ctx.skip()
    dir = await mkdtemp(join(tmpdir(), 'vigil-memory-'))
    url = engine === 'PostgreSQL' ? await pg!.createDatabase(`memory_${++dbCount}`) : null
  })
  afterEach(async () => {
    await db?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('stores float32 embeddings as little-endian bytes, exactly', () => {
    const v = Float32Array.of(1.5, -0.25, 3.4028234663852886e38, 1e-45)
    expect(bytesToVector(vectorToBytes(v))).toEqual(v)
    expect(() => bytesToVector('x')).toThrow(/not binary/)
    expect(() => bytesToVector(new Uint8Array(3))).toThrow(/whole float32/)
  })

  it('groups a recurring stranger across cameras and restarts; a match or a poor crop makes no group', async () => {
    let m = await open()
    const seen: string[] = []
    m.onGroupSeen((s) => seen.push(`${s.created ? 'new' : 'again'} ${s.group.visits}`))
    const a = await m.record(sighting(near(STRANGER, 0.8, 10)))
    await m.record(sighting(near(STRANGER, 0.8, 11), { cameraId: 'cam2', lastSeen: 5000 }))
    await m.record(sighting(near(OTHER, 0.8, 12)))
    expect(await m.record(sighting(near(OTHER, 0.8, 13), { quality: 0.05 }))).toBeNull()
    expect(await m.record(sighting(randomUnit(3), { band: 'match', personId: 'p1', score: 0.7 }))).toBeNull()
    expect(seen).toEqual(['new 1', 'again 2', 'new 1'])
    expect(m.sightingsRecorded).toBe(5)
    await db.close()

    m = await open()
    const groups = m.listGroups({ sort: 'visits' })
    expect(groups.map((g) => [g.visits, g.cameras])).toEqual([
      [2, ['cam1', 'cam2']],
      [1, ['cam1']]
    ])
    expect(groups[0]!.id).toBe(a!.group.id)
    expect(groups[0]!.lastSeen).toBe(5000)
    const again = await m.record(sighting(near(STRANGER, 0.8, 14), { cameraId: 'cam3' }))
    expect(again).toMatchObject({ created: false, group: { id: a!.group.id, visits: 3 } })
    expect(await m.sightingsOf(a!.group.id)).toHaveLength(3)
  })

  it('"not X" lasts: the same face on another track or after a restart is rejected until undone', async () => {
    let m = await open()
    await m.record(sighting(near(STRANGER, 0.8, 20)))
    await m.reject({ personId: 'howard', embedding: near(STRANGER, 0.8, 21), operator: 'ann', itemId: 'item1' })
    expect(m.isRejected('howard', near(STRANGER, 0.8, 22))).toBe(true)
    expect(m.isRejected('raj', near(STRANGER, 0.8, 22))).toBe(false)
    expect(m.isRejected('howard', near(OTHER, 0.8, 23))).toBe(false)
    await db.close()

    m = await open()
    expect(m.isRejected('howard', near(STRANGER, 0.8, 24))).toBe(true)
    expect(m.rejectedPeople(near(STRANGER, 0.8, 24))).toEqual(['howard'])
    expect(await m.undoRejection('item1')).toBe(1)
    expect(m.isRejected('howard', near(STRANGER, 0.8, 24))).toBe(false)
    await db.close()
    m = await open()
    expect(m.isRejected('howard', near(STRANGER, 0.8, 24))).toBe(false)
  })

  it('a rejection before the track ends makes the group the sighting then joins', async () => {
    const m = await open()
    await m.reject({ personId: 'howard', embedding: near(STRANGER, 0.8, 30), operator: 'ann', itemId: 'i' })
    const s = await m.record(sighting(near(STRANGER, 0.8, 31)))
    expect(s?.created).toBe(false)
    expect(m.listGroups()).toHaveLength(1)
  })

  it('merge, ignore, name and delete a group with its sightings and rejections', async () => {
    const m = await open()
    const a = (await m.record(sighting(near(STRANGER, 0.8, 40))))!.group
    const b = (await m.record(sighting(near(OTHER, 0.8, 41), { cameraId: 'cam9' })))!.group
    await m.rejectGroup(b.id, 'howard', 'ann')
    const merged = await m.merge(a.id, b.id)
    expect(merged).toMatchObject({ visits: 2, cameras: ['cam1', 'cam9'] })
    expect(m.listGroups()).toHaveLength(1)
    expect(await m.sightingsOf(a.id)).toHaveLength(2)
    expect(m.isRejected('howard', near(OTHER, 0.8, 42))).toBe(true)
    await m.setStatus(a.id, 'ignored')
    expect(m.listGroups()).toHaveLength(0)
    expect(m.listGroups({ includeIgnored: true })).toHaveLength(1)
    await m.setPerson(a.id, 'p9')
    expect(m.listGroups({ includeIgnored: true })).toHaveLength(0)
    await m.deleteGroup(a.id)
    expect(m.group(a.id)).toBeNull()
    expect(await m.sightingsOf(a.id)).toEqual([])
    // the rejection was biometric data of the group: it goes with it
    expect(m.isRejected('howard', near(OTHER, 0.95, 43))).toBe(false)
    await db.close()
    const again = await open()
    expect(again.groupCount).toBe(0)
    expect(again.isRejected('howard', near(OTHER, 0.8, 44))).toBe(false)
    await expect(again.merge('x', 'y')).rejects.toThrow(/no stranger group/)
  })
})
