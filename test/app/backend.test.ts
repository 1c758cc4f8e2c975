// The assembled engine behind the API: bad inputs get clear answers and never lose stored data;
// settings that change the inference pool swap it without a gap.
import { mkdtemp, rm } from 'node:fs/promises'
import { silentLogger } from '../../src/main/log/logger'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatch } from '../../src/main/api/dispatch'
import { createBackend, type Backend } from '../../src/main/app/create-backend'
import { MODELS_DIR, skipWithoutModels } from '../support/data'

const skip = skipWithoutModels('backend API')

describe.skipIf(skip)('backend API', () => {
  let dir: string
  let backend: Backend

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-backend-'))
    backend = await createBackend({
      dataDir: dir,
      mode: 'headless',
      modelsDir: MODELS_DIR,
      workers: 1,
      logger: silentLogger
    })
  }, 60_000)
  afterAll(async () => {
    await backend?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const call = (channel: unknown, payload?: unknown) => dispatch(backend, channel, payload, () => undefined)

  it('answers malformed requests with invalid_request and keeps serving', async () => {
    expect(await call('people.nuke', {})).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    expect(await call('people.create', { name: '' })).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    expect(await call('cameras.create', { name: 'x', url: 'ftp://nope' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' }
    })
    expect(await call(42, null)).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    const info = await call('system.info')
    expect(info).toMatchObject({ ok: true })
    // no paths or process ids for clients (README "Security")
    expect(JSON.stringify(info)).not.toMatch(/"pid"|dataDir/)
    expect(JSON.stringify(info)).not.toContain(dir)
  })

  it('a corrupt or faceless photo is refused with a reason and the person keeps their photos', async () => {
    const created = await call('people.create', { name: 'Ada' })
    expect(created.ok).toBe(true)
    const id = (created as { value: { id: string } }).value.id
    const garbage = await call('people.addPhoto', {
      personId: id,
      fileName: 'x.jpg',
      dataBase64: Buffer.from('not an image at all').toString('base64')
    })
    expect(garbage).toMatchObject({ ok: true, value: { ok: false, code: 'bad_image' } })
    const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#777' } })
      .jpeg()
      .toBuffer()
    const noFace = await call('people.addPhoto', {
      personId: id,
      fileName: 'blank.jpg',
      dataBase64: blank.toString('base64')
    })
    expect(noFace).toMatchObject({ ok: true, value: { ok: false, code: 'no_face' } })
    expect((noFace as { value: { message: string } }).value.message).toMatch(/face/i)
    expect(
      await call('people.addPhoto', { personId: 'nobody', fileName: 'b.jpg', dataBase64: blank.toString('base64') })
    ).toMatchObject({
      ok: false,
      error: { code: 'not_found' }
    })
    expect(backend.gallery.list().map((p) => p.name)).toEqual(['Ada'])
  })

  it('refuses thresholds in the wrong order without changing the stored settings', async () => {
    const before = structuredClone(backend.store.data.settings)
    const r = await call('settings.update', { thresholds: { accept: 0.2, review: 0.6 } })
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    expect(backend.store.data.settings).toEqual(before)
  })

  it('changing the worker count swaps the pool and reports the new workers', async () => {
    const r = await call('settings.update', { workers: 2 })
    expect(r).toMatchObject({ ok: true, value: { workers: 2 } })
    expect(backend.systemInfo().workers).toHaveLength(2)
    expect(backend.systemInfo().workers.every((w) => w.provider === 'cpu')).toBe(true)
    const img = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#333' } })
      .png()
      .toBuffer()
    await expect(backend.pool.analyzeEncoded(img)).resolves.toMatchObject({ faces: [] })
  }, 60_000)

  it('media keys cannot escape the data dir', async () => {
    expect(await call('media.get', { key: '../db.json' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' }
    })
    expect(await call('media.get', { key: 'crops/2026-01-01/missing.jpg' })).toMatchObject({ ok: false })
  })
})
