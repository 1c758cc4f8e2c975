import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { recordingLogger } from '../support/logger'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError } from '../../src/shared/api'
import type { Candidate, ReviewItem } from '../../src/shared/types'
import { EventLog } from '../../src/main/events/events'
import { ReviewQueue, type EnqueueInput, type EventPatchLike } from '../../src/main/review/queue'
import { SqlEventRepo } from '../../src/main/store/repos/events'
import { GOOD_QUALITY, apiError, embedding, jpegOf, makeEnv, mediaFiles, snapshot, type Env } from '../gallery/fixtures'

class FakeEvents {
  updates: { id: string; patch: EventPatchLike }[] = []
  missing = new Set<string>()
  async update(id: string, patch: EventPatchLike): Promise<unknown> {
    if (this.missing.has(id)) throw new ApiError('not_found', `event ${id} does not exist`)
    this.updates.push({ id, patch })
    return {}
  }
  last(id: string): EventPatchLike | undefined {
    return this.updates.filter((u) => u.id === id).at(-1)?.patch
  }
}

let env: Env
let events: FakeEvents
let queue: ReviewQueue
let pendings: number[]
let clock: number
let ann: string
let bob: string

beforeEach(async () => {
  env = await makeEnv()
  events = new FakeEvents()
  pendings = []
  clock = Date.UTC(2026, 10, 29, 12, 0, 0)
  queue = new ReviewQueue(env.sql.review, env.media, env.gallery, events, (n) => pendings.push(n), {
    now: () => (clock += 1000),
    logger: recordingLogger((level, m) => void ((level === 'warn' || level === 'error') && env.warnings.push(m)))
  })
  await queue.load()
  ann = (await env.gallery.create({ name: 'Ann' })).id
  bob = (await env.gallery.create({ name: 'Bob' })).id
})
afterEach(async () => {
  await env.close()
})

async function input(over: Partial<EnqueueInput> = {}): Promise<EnqueueInput> {
  const candidates: Candidate[] = [
    { personId: ann, name: 'Ann', score: 0.44 },
    { personId: bob, name: 'Bob', score: 0.3 }
  ]
  return {
    eventId: 'ev1',
    cameraId: 'cam1',
    trackId: 'tr1',
    candidates,
    personId: ann,
    box: { x: 10, y: 20, w: 80, h: 90 },
    crop: await jpegOf(112, 112, 200, 10, 10),
    snapshot: await jpegOf(320, 240),
    cropQuality: GOOD_QUALITY,
    cropEmbedding: embedding(100),
    ...over
  }
}

async function queued(over: Partial<EnqueueInput> = {}): Promise<ReviewItem> {
  const it = await queue.enqueue(await input(over))
  if (!it) throw new Error('not queued')
  return it
}

describe('ReviewQueue: enqueue', () => {
  it('stores the item with its crop, snapshot and embedding, links the event and counts pending', async () => {
    const it = await queued()
    expect(it).toMatchObject({
      status: 'pending',
      version: 0,
      personId: ann,
      cameraId: 'cam1',
      trackId: 'tr1',
      decidedBy: null,
      audit: []
    })
    expect(Object.keys(it)).not.toContain('cropEmbedding')
    expect(existsSync(join(env.dir, 'media', it.crop))).toBe(true)
    expect(existsSync(join(env.dir, 'media', it.snapshot))).toBe(true)
    const stored = (await env.sql.review.list())[0]
    expect(Array.from(stored.cropEmbedding ?? [])).toEqual(Array.from(embedding(100)))
    expect(events.last('ev1')).toMatchObject({
      decision: 'pending',
      reviewItemId: it.id,
      personId: ann,
      personName: 'Ann'
    })
    expect(await queue.pendingCount()).toBe(1)
    expect(pendings).toEqual([1])
    expect(await queue.list({ status: 'pending' })).toHaveLength(1)
    expect(await queue.list({ status: 'confirmed' })).toHaveLength(0)
  })

  it('updates the waiting item of the same track and person instead of queueing again, keeping the better crop', async () => {
    const first = await queued({ cropQuality: { ...GOOD_QUALITY, score: 0.5 } })
    expect(await queue.enqueue(await input({ cropQuality: { ...GOOD_QUALITY, score: 0.4 } }))).toBeNull()
    expect((await queue.get(first.id)).crop).toBe(first.crop)
    const better = await input({
      cropQuality: { ...GOOD_QUALITY, score: 0.9 },
      box: { x: 1, y: 1, w: 200, h: 200 },
      cropEmbedding: embedding(101)
    })
    expect(await queue.enqueue(better)).toBeNull()
    const now = await queue.get(first.id)
    expect(now.cropQuality.score).toBe(0.9)
    expect(now.box.w).toBe(200)
    expect(now.version).toBe(0)
    expect(now.crop).not.toBe(first.crop)
    expect(existsSync(join(env.dir, 'media', first.crop))).toBe(false)
    expect(Array.from((await env.sql.review.list())[0].cropEmbedding ?? [])).toEqual(Array.from(embedding(101)))
    expect(await queue.list()).toHaveLength(1)
    expect(await mediaFiles(env.dir)).toHaveLength(2)
    // another person for the same track, or another track, is a separate item
    expect(await queue.enqueue(await input({ personId: bob }))).not.toBeNull()
    expect(await queue.enqueue(await input({ trackId: 'tr2' }))).not.toBeNull()
    expect(await queue.pendingCount()).toBe(3)
  })

  it('refuses bad input clearly and stores nothing', async () => {
    const before = await snapshot(env)
    expect((await apiError(queue.enqueue(await input({ cropEmbedding: new Float32Array(5) })))).message).toMatch(
      /embedding/
    )
    expect((await apiError(queue.enqueue(await input({ eventId: '' })))).code).toBe('invalid_request')
    expect((await apiError(queue.enqueue(await input({ crop: Buffer.from('nope') })))).code).toBe('bad_image')
    expect((await apiError(queue.enqueue(await input({ snapshot: Buffer.from('nope') })))).code).toBe('bad_image')
    expect(await snapshot(env)).toEqual(before)
  })
})

describe('ReviewQueue: decisions', () => {
  it('confirm with addToGallery adds the crop as a reference and updates the event', async () => {
    const it = await queued()
    const done = await queue.decide({
      itemId: it.id,
      version: 0,
      action: 'confirm',
      operator: 'alice',
      addToGallery: true
    })
    expect(done).toMatchObject({ status: 'confirmed', personId: ann, version: 1, decidedBy: 'alice' })
    const photos = env.gallery.get(ann).photos
    expect(photos).toHaveLength(1)
    expect(photos[0].source).toBe('review')
    expect(done.audit[0]).toMatchObject({ action: 'confirm', operator: 'alice', addedPhotoId: photos[0].id })
    expect(env.gallery.matcher().match(embedding(100), { accept: 0.5, review: 0.35 }).candidates[0].personId).toBe(ann)
    expect(events.last('ev1')).toEqual({ decision: 'confirmed', personId: ann, personName: 'Ann' })
    expect(await queue.pendingCount()).toBe(0)
    expect(pendings.at(-1)).toBe(0)
  })

  it('confirm without addToGallery, or with a crop below the quality gate, adds no photo', async () => {
    const a = await queued()
    await queue.decide({ itemId: a.id, version: 0, action: 'confirm', operator: 'alice' })
    const b = await queued({ trackId: 'tr2', cropQuality: { ...GOOD_QUALITY, score: 0.1 } })
    const done = await queue.decide({
      itemId: b.id,
      version: 0,
      action: 'confirm',
      operator: 'alice',
      addToGallery: true
    })
    expect(done.audit[0].addedPhotoId).toBeNull()
    expect(env.gallery.get(ann).photos).toHaveLength(0)
  })

  it('reject stores a rejection so the track is not queued again for that person', async () => {
    const it = await queued()
    const done = await queue.decide({ itemId: it.id, version: 0, action: 'reject', operator: 'alice' })
    expect(done).toMatchObject({ status: 'rejected', personId: null })
    expect(await env.sql.review.rejections()).toEqual([
      { cameraId: 'cam1', trackId: 'tr1', personId: ann, at: done.decidedAt, operator: 'alice' }
    ])
    expect(events.last('ev1')).toEqual({ decision: 'rejected', personId: null, personName: null })
    expect(await queue.enqueue(await input())).toBeNull()
    expect(await queue.list()).toHaveLength(1)
    // the same track may still be queued for somebody else
    expect(await queue.enqueue(await input({ personId: bob }))).not.toBeNull()
  })

  it('reassign to another person, with the crop added to that person', async () => {
    const it = await queued()
    const done = await queue.decide({
      itemId: it.id,
      version: 0,
      action: 'reassign',
      operator: 'alice',
      personId: bob,
      addToGallery: true
    })
    expect(done).toMatchObject({ status: 'reassigned', personId: bob })
    expect(env.gallery.get(bob).photos).toHaveLength(1)
    expect(env.gallery.get(ann).photos).toHaveLength(0)
    expect(events.last('ev1')).toEqual({ decision: 'reassigned', personId: bob, personName: 'Bob' })
    expect(
      (
        await apiError(
          queue.decide({
            itemId: (await queued({ trackId: 'x' })).id,
            version: 0,
            action: 'reassign',
            operator: 'a',
            personId: 'nobody'
          })
        )
      ).code
    ).toBe('not_found')
    expect(
      (
        await apiError(
          queue.decide({ itemId: (await queued({ trackId: 'y' })).id, version: 0, action: 'reassign', operator: 'a' })
        )
      ).code
    ).toBe('invalid_request')
  })

  it('newPerson creates the person and assigns the face', async () => {
    const it = await queued()
    const done = await queue.decide({
      itemId: it.id,
      version: 0,
      action: 'newPerson',
      operator: 'alice',
      newPersonName: 'Cleo',
      addToGallery: true
    })
    const cleo = env.gallery.list().find((p) => p.name === 'Cleo')
    expect(cleo).toBeDefined()
    expect(done).toMatchObject({ status: 'reassigned', personId: cleo?.id })
    expect(done.audit[0].action).toBe('newPerson')
    expect(cleo?.photos).toHaveLength(1)
    expect(events.last('ev1')).toMatchObject({ decision: 'reassigned', personName: 'Cleo' })
    // a taken name is a conflict and changes nothing
    const other = await queued({ trackId: 'tr9' })
    const before = await snapshot(env)
    const e = await apiError(
      queue.decide({ itemId: other.id, version: 0, action: 'newPerson', operator: 'alice', newPersonName: 'cleo' })
    )
    expect(e.code).toBe('conflict')
    expect(await snapshot(env)).toEqual(before)
  })

  it('a second operator with the same version gets a conflict saying who decided and when; nothing is overwritten', async () => {
    const it = await queued()
    const first = await queue.decide({
      itemId: it.id,
      version: 0,
      action: 'confirm',
      operator: 'alice',
      addToGallery: true
    })
    const before = await snapshot(env)
    const e = await apiError(queue.decide({ itemId: it.id, version: 0, action: 'reject', operator: 'bob' }))
    expect(e.code).toBe('conflict')
    expect(e.message).toMatch(
      /already confirmed by alice at 2026-11-29T12:00:0\dZ|already confirmed by alice at 2026-11-29T12:00:\d\d.000Z/
    )
    expect(e.details).toMatchObject({ decidedBy: 'alice', decidedAt: first.decidedAt, status: 'confirmed' })
    expect(await snapshot(env)).toEqual(before)
    expect(await env.sql.review.rejections()).toEqual([])
  })

  it('two simultaneous decisions: exactly one wins, the other is a conflict', async () => {
    const it = await queued()
    const results = await Promise.allSettled([
      queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'alice', addToGallery: true }),
      queue.decide({
        itemId: it.id,
        version: 0,
        action: 'reassign',
        operator: 'bob',
        personId: bob,
        addToGallery: true
      })
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect((lost.reason as ApiError).code).toBe('conflict')
    expect(env.gallery.get(ann).photos.length + env.gallery.get(bob).photos.length).toBe(1)
    expect((await queue.get(it.id)).audit).toHaveLength(1)
  })

  it('unknown items and bad requests are clear errors', async () => {
    expect((await apiError(queue.decide({ itemId: 'nope', version: 0, action: 'confirm', operator: 'a' }))).code).toBe(
      'not_found'
    )
    expect((await apiError(queue.undo({ itemId: 'nope', operator: 'a' }))).code).toBe('not_found')
    const it = await queued()
    expect((await apiError(queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: ' ' }))).code).toBe(
      'invalid_request'
    )
    expect((await apiError(queue.undo({ itemId: it.id, operator: 'a' }))).message).toMatch(/nothing to undo/)
  })

  it('confirming a person deleted meanwhile says so and changes nothing', async () => {
    const it = await queued()
    await env.gallery.delete(ann)
    const before = await snapshot(env)
    const e = await apiError(queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'a' }))
    expect(e.code).toBe('not_found')
    expect(e.message).toMatch(/Ann no longer exists; reassign/)
    expect(await snapshot(env)).toEqual(before)
  })

  it('an event removed by retention does not block the decision', async () => {
    const it = await queued({ eventId: 'gone' })
    events.missing.add('gone')
    const done = await queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'alice' })
    expect(done.status).toBe('confirmed')
  })

  it('a failed write reverts the decision and the gallery side effects', async () => {
    const it = await queued()
    const before = await snapshot(env)
    env.failWrites.on = true
    await expect(
      queue.decide({
        itemId: it.id,
        version: 0,
        action: 'newPerson',
        operator: 'a',
        newPersonName: 'Dora',
        addToGallery: true
      })
    ).rejects.toThrow()
    await expect(queue.decide({ itemId: it.id, version: 0, action: 'reject', operator: 'a' })).rejects.toThrow(
      /disk is full/
    )
    env.failWrites.on = false
    expect(await snapshot(env)).toEqual(before)
    // the person (write 1) and the photo (writes 2, 3) are written, the item's write (4) fails:
    // both are taken back
    env.failWrites.nth = 4
    await expect(
      queue.decide({
        itemId: it.id,
        version: 0,
        action: 'newPerson',
        operator: 'a',
        newPersonName: 'Dora',
        addToGallery: true
      })
    ).rejects.toThrow(/disk is full/)
    expect(env.gallery.list().map((p) => p.name)).toEqual(['Ann', 'Bob'])
    expect(await snapshot(env)).toEqual(before)
    env.failWrites.nth = 3
    await expect(
      queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'a', addToGallery: true })
    ).rejects.toThrow(/disk is full/)
    // taking the photo back touches Ann's updatedAt; everything else is as before
    const withoutUpdatedAt = (x: Awaited<ReturnType<typeof snapshot>>): unknown => {
      const people = (x.tables.people as { updated_at?: unknown }[]).map(({ updated_at: _u, ...r }) => r)
      const memory = (JSON.parse(x.memory) as { updatedAt?: number }[]).map(({ updatedAt: _u, ...r }) => r)
      return { ...x, tables: { ...x.tables, people }, memory }
    }
    const after = await snapshot(env)
    expect(withoutUpdatedAt(after)).toEqual(withoutUpdatedAt(before))
    expect(env.gallery.matcher().size).toBe(0)
    const ok = await queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'a', addToGallery: true })
    expect(ok.status).toBe('confirmed')
    const beforeUndo = await snapshot(env)
    env.failWrites.on = true
    await expect(queue.undo({ itemId: it.id, operator: 'a' })).rejects.toThrow(/disk is full/)
    env.failWrites.on = false
    expect(await snapshot(env)).toEqual(beforeUndo)
    expect(env.gallery.get(ann).photos).toHaveLength(1)
  })
})

describe('ReviewQueue: undo and audit trail', () => {
  it('undo of confirm removes the added reference photo and returns to pending', async () => {
    const it = await queued()
    await queue.decide({ itemId: it.id, version: 0, action: 'confirm', operator: 'alice', addToGallery: true })
    const photo = env.gallery.get(ann).photos[0]
    const back = await queue.undo({ itemId: it.id, operator: 'bob' })
    expect(back).toMatchObject({ status: 'pending', personId: ann, version: 2, decidedBy: null, decidedAt: null })
    expect(env.gallery.get(ann).photos).toHaveLength(0)
    expect(existsSync(join(env.dir, 'media', photo.media))).toBe(false)
    expect(env.gallery.matcher().size).toBe(0)
    expect(events.last('ev1')).toEqual({ decision: 'pending', personId: ann, personName: 'Ann' })
    expect(await queue.pendingCount()).toBe(1)
    // the item's own crop stays
    expect(existsSync(join(env.dir, 'media', back.crop))).toBe(true)
  })

  it('undo of reject removes the rejection so the track can be queued again', async () => {
    const it = await queued()
    await queue.decide({ itemId: it.id, version: 0, action: 'reject', operator: 'alice' })
    const back = await queue.undo({ itemId: it.id, operator: 'alice' })
    expect(back.status).toBe('pending')
    expect(await env.sql.review.rejections()).toEqual([])
    // pending again: a new sighting updates it rather than queueing another
    expect(await queue.enqueue(await input())).toBeNull()
    expect(await queue.list()).toHaveLength(1)
  })

  it('keeps the full audit trail across decide / undo / decide', async () => {
    const it = await queued()
    const a = await queue.decide({ itemId: it.id, version: 0, action: 'reassign', operator: 'alice', personId: bob })
    const b = await queue.undo({ itemId: it.id, operator: 'bob' })
    const stale = await apiError(
      queue.decide({ itemId: it.id, version: a.version, action: 'confirm', operator: 'carol' })
    )
    expect(stale.code).toBe('conflict')
    expect(stale.message).toMatch(/last change by bob \(undo\)/)
    const c = await queue.decide({ itemId: it.id, version: b.version, action: 'confirm', operator: 'carol' })
    expect(c.audit.map((e) => [e.action, e.operator, e.previous.status, e.next.status, e.next.personId])).toEqual([
      ['reassign', 'alice', 'pending', 'reassigned', bob],
      ['undo', 'bob', 'reassigned', 'pending', ann],
      ['confirm', 'carol', 'pending', 'confirmed', ann]
    ])
    expect(c.audit.every((e, i, all) => i === 0 || e.at > all[i - 1].at)).toBe(true)
    expect(c.version).toBe(3)
    // persisted on disk
    expect((await snapshot(env)).tables.review_audit).toHaveLength(3)
    expect((await env.sql.review.load(it.id))?.audit).toEqual(c.audit)
  })
})

describe('ReviewQueue with the real EventLog', () => {
  it('links and updates the event of the track', async () => {
    const log = new EventLog(new SqlEventRepo(env.sql.db), env.media)
    const q2 = new ReviewQueue(env.sql.review, env.media, env.gallery, log)
    const { event } = await log.upsertTrackEvent({
      cameraId: 'cam1',
      trackId: 'tr1',
      band: 'review',
      personId: ann,
      personName: 'Ann',
      score: 0.44,
      box: { x: 10, y: 20, w: 80, h: 90 },
      at: Date.now(),
      decision: 'pending'
    })
    const it = await q2.enqueue(await input({ eventId: event.id }))
    if (!it) throw new Error('not queued')
    expect(await log.get(event.id)).toMatchObject({ reviewItemId: it.id, decision: 'pending' })
    await q2.decide({ itemId: it.id, version: 0, action: 'reassign', operator: 'alice', personId: bob })
    expect(await log.get(event.id)).toMatchObject({ decision: 'reassigned', personId: bob, personName: 'Bob' })
    await q2.undo({ itemId: it.id, operator: 'alice' })
    expect(await log.get(event.id)).toMatchObject({ decision: 'pending', personId: ann, personName: 'Ann' })
  })
})
