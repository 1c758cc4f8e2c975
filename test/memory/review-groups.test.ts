// A review queue that does not flood: the real queue with the real face memory on SQLite. Items of
// one stranger group are one card, one decision resolves them all, rejections last across tracks,
// bulk reject, items about a deleted person resolve themselves, the queue is bounded per group.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FaceMemory } from '../../src/main/memory/face-memory'
import { MEMORY_MIGRATIONS } from '../../src/main/memory/migrations'
import { SqlMemoryRepository } from '../../src/main/memory/repository'
import { MAX_PENDING_PER_GROUP, ReviewQueue, SYSTEM_OPERATOR, type EnqueueInput } from '../../src/main/review/queue'
import type { SqlDatabase } from '../../src/main/store/sql/database'
import { openDatabase } from '../../src/main/store/sql/open'
import { GOOD_QUALITY, jpegOf, makeEnv, type Env } from '../gallery/fixtures'
import { near, randomUnit } from '../tracking/helpers'

const HOWARD_LOOKALIKE = randomUnit(500)
const SOMEONE_ELSE = randomUnit(501)

let env: Env
let db: SqlDatabase
let memory: FaceMemory
let queue: ReviewQueue
let howard: string
let raj: string
let n = 0

async function item(face: Float32Array, over: Partial<EnqueueInput> = {}): Promise<EnqueueInput> {
  n++
  return {
    eventId: `ev${n}`,
    cameraId: 'cam1',
    trackId: `tr${n}`,
    candidates: [{ personId: howard, name: 'Howard', score: 0.31 }],
    personId: howard,
    box: { x: 10, y: 20, w: 80, h: 90 },
    crop: await jpegOf(112, 112, 200, 10, 10),
    snapshot: await jpegOf(320, 240),
    cropQuality: GOOD_QUALITY,
    cropEmbedding: near(face, 0.85, 1000 + n),
    ...over
  }
}

beforeEach(async () => {
  env = await makeEnv()
  db = await openDatabase({ dataDir: env.dir, migrations: MEMORY_MIGRATIONS })
  memory = await FaceMemory.open({ repo: new SqlMemoryRepository(db) })
  queue = new ReviewQueue(env.sql.review, env.media, env.gallery, { update: async () => ({}) }, undefined, { memory })
  await queue.load()
  howard = (await env.gallery.create({ name: 'Howard' })).id
  raj = (await env.gallery.create({ name: 'Raj' })).id
})
afterEach(async () => {
  await db.close()
  await env.close()
})

describe('review queue with stranger groups', () => {
  it('items of one face are one card with a count; one rejection resolves them and silences the flood', async () => {
    for (let i = 0; i < 3; i++) expect(await queue.enqueue(await item(HOWARD_LOOKALIKE))).not.toBeNull()
    await queue.enqueue(await item(SOMEONE_ELSE))
    const cards = await queue.list({ status: 'pending', byGroup: true })
    expect(cards.map((c) => c.groupCount).sort()).toEqual([1, 3])
    const card = cards.find((c) => c.groupCount === 3)!
    await queue.decide({ itemId: card.id, version: card.version, action: 'reject', operator: 'ann' })
    const pending = await queue.list({ status: 'pending' })
    expect(pending).toHaveLength(1)
    expect((await queue.list({ status: 'rejected' })).every((r) => r.decidedBy === 'ann')).toBe(true)
    // the same face on a new track, another camera, after a restart: never asked about Howard again
    expect(await queue.enqueue(await item(HOWARD_LOOKALIKE, { cameraId: 'cam2' }))).toBeNull()
    await db.close()
    db = await openDatabase({ dataDir: env.dir, migrations: MEMORY_MIGRATIONS })
    memory = await FaceMemory.open({ repo: new SqlMemoryRepository(db) })
    queue = new ReviewQueue(env.sql.review, env.media, env.gallery, { update: async () => ({}) }, undefined, { memory })
    await queue.load()
    expect(await queue.enqueue(await item(HOWARD_LOOKALIKE))).toBeNull()
    // …but it may still be asked about somebody else
    expect(
      await queue.enqueue(
        await item(HOWARD_LOOKALIKE, { personId: raj, candidates: [{ personId: raj, name: 'Raj', score: 0.33 }] })
      )
    ).not.toBeNull()
  })

  it('undoing the rejection lets the face be proposed again', async () => {
    const a = (await queue.enqueue(await item(HOWARD_LOOKALIKE)))!
    await queue.decide({ itemId: a.id, version: 0, action: 'reject', operator: 'ann' })
    expect(await queue.enqueue(await item(HOWARD_LOOKALIKE))).toBeNull()
    await queue.undo({ itemId: a.id, operator: 'ann' })
    expect(await queue.enqueue(await item(HOWARD_LOOKALIKE))).not.toBeNull()
  })

  it('confirming one card confirms the group', async () => {
    for (let i = 0; i < 2; i++) await queue.enqueue(await item(HOWARD_LOOKALIKE))
    const [card] = await queue.list({ status: 'pending', byGroup: true })
    await queue.decide({ itemId: card!.id, version: 0, action: 'confirm', operator: 'ann' })
    expect((await queue.list({ status: 'confirmed' })).map((r) => r.personId)).toEqual([howard, howard])
  })

  it('stays bounded per group', async () => {
    for (let i = 0; i < MAX_PENDING_PER_GROUP + 4; i++) await queue.enqueue(await item(HOWARD_LOOKALIKE))
    expect(await queue.list({ status: 'pending' })).toHaveLength(MAX_PENDING_PER_GROUP)
  })

  it('bulk reject, and deleting a person resolves their pending items', async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await queue.enqueue(await item(randomUnit(600 + i))))!.id)
    expect(await queue.rejectMany({ itemIds: ids.slice(0, 2), operator: 'ann' })).toEqual({ rejected: 2 })
    for (let i = 0; i < 2; i++)
      await queue.enqueue(
        await item(randomUnit(700 + i), { personId: raj, candidates: [{ personId: raj, name: 'Raj', score: 0.32 }] })
      )
    await env.gallery.delete(raj)
    expect(await queue.personDeleted(raj)).toBe(2)
    const left = await queue.list({ status: 'pending' })
    expect(left.map((r) => r.personId)).toEqual([howard])
    expect((await queue.list({ status: 'rejected' })).filter((r) => r.decidedBy === SYSTEM_OPERATOR)).toHaveLength(2)
  })
})
