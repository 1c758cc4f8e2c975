// Two instances on one database, engine-agnostic parts proven on one SQLite file opened through two
// connections (the postgres branch runs the same flows over LISTEN/NOTIFY between processes): a
// person added on one is matched by the other after the notification, and a review item decided on
// both is decided once, the other side getting the existing conflict error. (Two connections in one
// thread cannot hold SQLite transactions at the same moment, so the race itself is run by the
// PostgreSQL two-process tests; here the losing side's conditional UPDATE is shown to change nothing.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Gallery } from '../../src/main/gallery/gallery'
import { ReviewQueue } from '../../src/main/review/queue'
import { MediaStore } from '../../src/main/store/media'
import { DEFAULT_SETTINGS } from '../../src/main/store/schema'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { FakeAnalyzer, GOOD_QUALITY, apiError, embedding, jpegOf } from '../gallery/fixtures'
import { tempDir } from './helpers'

let dir: string
let cleanup: () => Promise<void>
let a: SqlStore
let b: SqlStore

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-multi-'))
  a = await openSqlStore({ dataDir: dir })
  b = await openSqlStore({ dataDir: dir })
})
afterEach(async () => {
  await a.close()
  await b.close()
  await cleanup()
})

const T = { accept: 0.5, review: 0.35 }

describe('two instances sharing one database', () => {
  it('a person and photo added on one are matched by the other once it hears of the change', async () => {
    const media = new MediaStore(dir)
    let galleryB: Gallery | null = null
    const galleryA = new Gallery(a.gallery, media, new FakeAnalyzer(), () => DEFAULT_SETTINGS, {
      // stands in for the database's notification channel between the two processes
      notify: async (personId) => void (await galleryB?.reloadPerson(personId))
    })
    galleryB = new Gallery(b.gallery, media, new FakeAnalyzer(), () => DEFAULT_SETTINGS)
    await galleryA.load()
    await galleryB.load()
    const p = await galleryA.create({ name: 'Ada' })
    const e = embedding(5)
    await galleryA.addReferenceFromCrop(p.id, { jpeg: await jpegOf(112, 112), embedding: e, quality: GOOD_QUALITY })
    await new Promise((r) => setTimeout(r, 50))
    expect(galleryB.matcher().match(e, T).candidates[0]).toMatchObject({ personId: p.id, name: 'Ada' })
    await galleryA.delete(p.id)
    await new Promise((r) => setTimeout(r, 50))
    expect(galleryB.find(p.id)).toBeNull()
    expect(galleryB.matcher().size).toBe(0)
    // the same name created on both at once: the database's unique key makes the second a conflict
    await galleryA.create({ name: 'Bo' })
    expect((await apiError(galleryB.create({ name: 'bo' }))).code).toBe('conflict')
  })

  it('a review item decided on both at once is decided once; the other gets the conflict error', async () => {
    const media = new MediaStore(dir)
    const events = { update: async () => ({}) }
    const ga = new Gallery(a.gallery, media, new FakeAnalyzer(), () => DEFAULT_SETTINGS)
    const gb = new Gallery(b.gallery, media, new FakeAnalyzer(), () => DEFAULT_SETTINGS)
    await ga.load()
    const ann = await ga.create({ name: 'Ann' })
    await gb.load()
    const qa = new ReviewQueue(a.review, media, ga, events)
    const qb = new ReviewQueue(b.review, media, gb, events)
    const item = await qa.enqueue({
      eventId: 'ev1',
      cameraId: 'cam1',
      trackId: 'tr1',
      candidates: [{ personId: ann.id, name: 'Ann', score: 0.44 }],
      personId: ann.id,
      box: { x: 1, y: 1, w: 50, h: 50 },
      crop: await jpegOf(112, 112),
      snapshot: await jpegOf(320, 240),
      cropQuality: GOOD_QUALITY,
      cropEmbedding: embedding(9)
    })
    if (!item) throw new Error('not queued')
    // both desks saw version 0; desk A's decision lands first
    const before = await b.review.load(item.id)
    await qa.decide({ itemId: item.id, version: 0, action: 'confirm', operator: 'desk-a' })
    // desk B's write is the conditional UPDATE (still pending, still version 0): it changes nothing
    if (!before) throw new Error('item missing')
    expect(
      await b.review.decide({ ...before, status: 'rejected', version: 1 }, { version: 0, pending: true }, {})
    ).toBe(false)
    // and through the queue desk B gets the existing conflict error naming who decided
    const err = await apiError(qb.decide({ itemId: item.id, version: 0, action: 'reject', operator: 'desk-b' }))
    expect(err.code).toBe('conflict')
    expect(err.message).toMatch(/already confirmed by desk-a/)
    const stored = await a.review.load(item.id)
    expect(stored?.audit).toHaveLength(1)
    expect(stored?.version).toBe(1)
  })
})
