// Two Vigil instances (two createBackend, each with its own data dir, models and worker) on one real
// PostgreSQL behave as one system: the gallery, the review queue and the history are shared;
// each instance analyses only the cameras assigned to it.
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import type { Thresholds } from '../../src/shared/types'
import { createBackend, type Backend } from '../../src/main/app/create-backend'
import { silentLogger } from '../../src/main/log/logger'
import { MODELS_DIR, dataPath, hasData, hasModels, skipUnless } from '../support/data'
import { pgBinDir, skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'

const FACE_A = dataPath('lfw-subset', 'Colin_Powell', 'Colin_Powell_0001.jpg')
const FACE_A2 = dataPath('lfw-subset', 'Colin_Powell', 'Colin_Powell_0002.jpg')
const CLIP = dataPath('video', 'short_hamilton_clip.mp4')

const skip =
  skipWithoutPostgres('two instances on one PostgreSQL') ||
  skipUnless('two instances on one PostgreSQL', [
    [hasModels(), `models missing in ${MODELS_DIR}`],
    [hasData('lfw-subset/Colin_Powell'), 'test data lfw-subset not found'],
    [hasData('video/short_hamilton_clip.mp4'), 'test data video/short_hamilton_clip.mp4 not found'],
    [pgBinDir() !== null, 'PostgreSQL not installed']
  ])

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

describe.skipIf(skip)('two instances on one PostgreSQL', () => {
  let server: PgServer
  const dirs: string[] = []
  let a: Backend
  let b: Backend
  let thresholds: Thresholds

  const start = async (name: string, url: string): Promise<Backend> => {
    const dir = await mkdtemp(join(tmpdir(), `vigil-${name}-`))
    dirs.push(dir)
    return createBackend({
      dataDir: dir,
      db: url,
      mode: 'headless',
      modelsDir: MODELS_DIR,
      workers: 1,
      logger: silentLogger
    })
  }

  beforeAll(async () => {
    server = await startPostgres()
    // both at once, on an empty database: both run the migrations and must both come up
    ;[a, b] = await Promise.all([start('a', server.url), start('b', server.url)])
    thresholds = a.store.data.settings.thresholds
  }, 120_000)
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()])
    await server?.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('the instances have distinct ids', () => {
    expect(a.store.data.instanceId).toBeTruthy()
    expect(b.store.data.instanceId).toBeTruthy()
    expect(a.store.data.instanceId).not.toBe(b.store.data.instanceId)
  })

  it('a person and photo added on one instance are matched by the other within 2 s', async () => {
    // B computes the probe embedding from another photo of the same person with its own worker
    const probe = (await b.pool.analyzeEncoded(await readFile(FACE_A2))).faces[0]?.embedding
    expect(probe).toBeTruthy()
    expect(b.gallery.matcher().match(probe!, thresholds).band).toBe('unknown')

    const person = await a.gallery.create({ name: 'Colin Powell', notes: '' })
    const added = await a.gallery.addPhoto({
      personId: person.id,
      fileName: 'colin.jpg',
      dataBase64: (await readFile(FACE_A)).toString('base64')
    })
    expect(added.ok).toBe(true)
    const t0 = Date.now()
    const seen = await until(
      'the other instance to match the new person',
      async () => {
        const r = b.gallery.matcher().match(probe!, thresholds)
        return r.candidates[0]?.personId === person.id && r.band === 'match' ? r : null
      },
      5000
    )
    const elapsed = Date.now() - t0
    console.log(`[multi] person added on A matched on B after ${elapsed} ms (score ${seen.score.toFixed(3)})`)
    expect(elapsed).toBeLessThan(2000)
    expect(b.gallery.list().map((p) => p.name)).toContain('Colin Powell')

    // and removing it there is seen here
    await b.gallery.delete(person.id)
    await until('the deletion to reach A', async () => a.gallery.find(person.id) === null, 2000)
    expect(a.gallery.matcher().match(probe!, thresholds).band).toBe('unknown')
  })

  it('a gallery change missed while the notification connection was down is picked up when it is back', async () => {
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    try {
      // B's LISTEN connection is cut, and A's change is written without a notification (as if it
      // were sent during the outage): only the resync after the reconnect can bring it to B
      const cut = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'"
      )
      expect(cut.rowCount).toBeGreaterThan(0)
      const at = Date.now()
      await a.sql.gallery.insertPerson({
        id: 'missed-person',
        name: 'Missed While Away',
        notes: '',
        threshold: null,
        createdAt: at,
        updatedAt: at
      })
      await until('B to pick up the missed person', async () => b.gallery.find('missed-person') !== null, 10_000)
      // and notifications flow again afterwards
      const later = await a.gallery.create({ name: 'After The Outage', notes: '' })
      await until('B to hear of the next change', async () => b.gallery.find(later.id) !== null, 5000)
    } finally {
      await admin.end()
    }
  })

  it('a review item decided on both instances at once is decided once; the other gets the conflict', async () => {
    const crop = await readFile(FACE_A)
    const face = (await a.pool.analyzeEncoded(crop)).faces[0]
    expect(face?.embedding).toBeTruthy()
    const person = await a.gallery.create({ name: 'Reviewed Person', notes: '' })
    const rounds = 4
    for (let r = 0; r < rounds; r++) {
      const item = await a.review.enqueue({
        eventId: `ev-multi-${r}`,
        cameraId: 'cam-multi',
        trackId: `t-multi-${r}`,
        candidates: [{ personId: person.id, name: person.name, score: 0.35 }],
        personId: person.id,
        box: face!.box,
        crop,
        snapshot: crop,
        cropQuality: face!.quality,
        cropEmbedding: face!.embedding!
      })
      expect(item).not.toBeNull()
      // B learns of the item from the database (notification + reload)
      await until('B to see the item', async () =>
        (await b.review.list({ status: 'pending' })).some((i) => i.id === item!.id)
      )
      const decide = (be: Backend, operator: string, action: 'confirm' | 'reject') =>
        be.review.decide({ itemId: item!.id, version: item!.version, action, operator })
      const outcomes = await Promise.allSettled([decide(a, 'desk-a', 'confirm'), decide(b, 'desk-b', 'reject')])
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0].reason).toBeInstanceOf(ApiError)
      expect((lost[0].reason as ApiError).code).toBe('conflict')
      const final = await b.review.get(item!.id)
      expect(final.status).not.toBe('pending')
      expect(final.version).toBe(item!.version + 1)
      expect(final.audit).toHaveLength(1)
      expect(await a.review.get(item!.id)).toMatchObject({ status: final.status, version: final.version })
    }
  })

  it('each instance analyses only its cameras; events from both appear in both histories', async () => {
    const idA = a.store.data.instanceId as string
    const idB = b.store.data.instanceId as string
    const cam = { url: CLIP, loop: true }
    const doorA = await a.cameras.create({ ...cam, name: 'Door (A)' })
    // configured on A too, but assigned to B: A lists it and says who runs it, and never opens it
    const lobbyOnA = await a.cameras.create({ ...cam, name: 'Lobby', instance: idB })
    const lobbyB = await b.cameras.create({ ...cam, name: 'Lobby' })
    expect(doorA.instance).toBe(idA)
    expect(lobbyB.instance).toBe(idB)
    const onA = a.cameras.list().find((c) => c.id === lobbyOnA.id)!
    expect(onA.instance).toBe(idB)
    expect(onA.status.state).toBe('disabled')
    expect(onA.status.reason).toContain(idB)

    const camerasIn = async (be: Backend): Promise<Set<string>> =>
      new Set((await be.events.query({ limit: 200 })).items.map((e) => e.cameraId))
    for (const be of [a, b]) {
      await until(
        'events of both instances in one history',
        async () => {
          const ids = await camerasIn(be)
          return ids.has(doorA.id) && ids.has(lobbyB.id)
        },
        90_000
      )
    }
    await a.cameras.remove(doorA.id)
    await b.cameras.remove(lobbyB.id)
    for (const be of [a, b]) expect((await camerasIn(be)).has(lobbyOnA.id)).toBe(false)
    expect(a.cameras.list().find((c) => c.id === lobbyOnA.id)?.status.state).toBe('disabled')
  }, 150_000)
})
