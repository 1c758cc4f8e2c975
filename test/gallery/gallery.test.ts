import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { recordingLogger } from '../support/logger'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../src/shared/api'
import type { EnrolResult } from '../../src/shared/types'
import { Gallery, containedFraction, qualityProblems } from '../../src/main/gallery/gallery'
import { SqlEventRepo } from '../../src/main/store/repos/events'
import { SqlGalleryRepo } from '../../src/main/store/repos/gallery'
import { GOOD_QUALITY, apiError, embedding, face, jpegOf, makeEnv, mediaFiles, snapshot, type Env } from './fixtures'
import { atCosine, rng } from './helpers'

let env: Env
beforeEach(async () => {
  env = await makeEnv()
})
afterEach(async () => {
  await env.close()
})

const T = { accept: 0.5, review: 0.35 }

async function upload(
  personId: string,
  over: { faceIndex?: number; bytes?: Buffer; fileName?: string } = {}
): Promise<EnrolResult> {
  const bytes = over.bytes ?? (await jpegOf(400, 300))
  return env.gallery.addPhoto({
    personId,
    fileName: over.fileName ?? 'a.jpg',
    dataBase64: bytes.toString('base64'),
    faceIndex: over.faceIndex
  })
}

describe('Gallery: people', () => {
  it('creates, lists, updates and deletes people', async () => {
    const ann = await env.gallery.create({ name: '  Ann  ', notes: 'n', threshold: 0.6 })
    expect(ann).toMatchObject({ name: 'Ann', notes: 'n', threshold: 0.6, photos: [] })
    const bob = await env.gallery.create({ name: 'Bob' })
    expect(bob.threshold).toBeNull()
    expect(env.gallery.list().map((p) => p.name)).toEqual(['Ann', 'Bob'])
    const upd = await env.gallery.update(ann.id, { name: 'Anna', threshold: null })
    expect(upd).toMatchObject({ name: 'Anna', threshold: null, notes: 'n' })
    expect(upd.updatedAt).toBeGreaterThanOrEqual(ann.updatedAt)
    expect(await env.gallery.delete(bob.id)).toEqual({ deleted: true })
    expect(env.gallery.list().map((p) => p.name)).toEqual(['Anna'])
    expect(env.peopleChanges).toEqual([1, 2, 2, 1])
    // persisted
    expect((await env.sql.gallery.loadAll()).map((p) => p.name)).toEqual(['Anna'])
  })

  it('refuses duplicate names case-insensitively, also on rename', async () => {
    const a = await env.gallery.create({ name: 'Ann Lee' })
    const err = await apiError(env.gallery.create({ name: 'ann lee ' }))
    expect(err.code).toBe('conflict')
    expect(err.message).toMatch(/Ann Lee/)
    const b = await env.gallery.create({ name: 'Bob' })
    expect((await apiError(env.gallery.update(b.id, { name: 'ANN LEE' }))).code).toBe('conflict')
    // renaming to a different case of one's own name is fine
    expect((await env.gallery.update(a.id, { name: 'ann lee' })).name).toBe('ann lee')
    expect(env.gallery.list()).toHaveLength(2)
  })

  it('answers not_found for unknown ids and invalid_request for bad fields', async () => {
    expect((await apiError(env.gallery.update('nope', { name: 'x' }))).code).toBe('not_found')
    expect((await apiError(env.gallery.delete('nope'))).code).toBe('not_found')
    expect((await apiError(env.gallery.removePhoto('nope', 'x'))).code).toBe('not_found')
    expect((await apiError(upload('nope'))).code).toBe('not_found')
    expect(() => env.gallery.get('nope')).toThrow(ApiError)
    expect((await apiError(env.gallery.create({ name: '   ' }))).code).toBe('invalid_request')
    expect((await apiError(env.gallery.create({ name: 'x', threshold: 1.5 }))).code).toBe('invalid_request')
    const p = await env.gallery.create({ name: 'P' })
    expect((await apiError(env.gallery.removePhoto(p.id, 'nope'))).code).toBe('not_found')
    expect(env.gallery.list()).toHaveLength(1)
  })

  it('keeps the name in events when a person is deleted and removes the photo files', async () => {
    const p = await env.gallery.create({ name: 'Gone' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(1))]
    const r = await upload(p.id)
    expect(r.ok).toBe(true)
    const events = new SqlEventRepo(env.sql.db)
    await events.insert({
      id: 'e1',
      cameraId: 'c',
      trackId: 't',
      band: 'match',
      personId: p.id,
      personName: 'Gone',
      score: 0.7,
      decision: 'auto',
      startedAt: 1,
      updatedAt: 1,
      box: { x: 0, y: 0, w: 1, h: 1 },
      crop: null,
      snapshot: null,
      reviewItemId: null
    })
    expect(await mediaFiles(env.dir)).toHaveLength(1)
    await env.gallery.delete(p.id)
    expect(await mediaFiles(env.dir)).toEqual([])
    expect((await events.get('e1'))?.personName).toBe('Gone')
    expect(env.gallery.matcher().size).toBe(0)
  })
})

describe('Gallery: enrolment', () => {
  it('stores a downscaled JPEG, the embedding and quality, and updates the matcher', async () => {
    const p = await env.gallery.create({ name: 'Ann' })
    const e = embedding(2)
    env.analyzer.next = [face({ x: 100, y: 80, w: 300, h: 300 }, e)]
    const big = await sharp({
      create: { width: 2400, height: 1600, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } }
    })
      .png()
      .toBuffer()
    const r = await upload(p.id, { bytes: big, fileName: 'big.png' })
    if (!r.ok) throw new Error(r.message)
    expect(r.photo).toMatchObject({ personId: p.id, source: 'upload', quality: { ...GOOD_QUALITY, sizePx: 300 } })
    expect(env.analyzer.calls[0]).toMatchObject({ embed: true })
    const file = join(env.dir, 'media', r.photo.media)
    const meta = await sharp(file).metadata()
    expect(meta.format).toBe('jpeg')
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(1024)
    const stored = (await env.sql.gallery.loadAll())[0].photos[0]
    expect(Array.from(stored.embedding)).toEqual(Array.from(e))
    // the API shape carries no embedding
    expect(Object.keys(env.gallery.list()[0].photos[0])).not.toContain('embedding')
    const m = env.gallery.matcher()
    expect(m.size).toBe(1)
    const res = m.match(atCosine(e, 0.7, rng(3)), T)
    expect(res.candidates[0]).toMatchObject({ personId: p.id, name: 'Ann' })
    expect(res.band).toBe('match')
    // renames and thresholds reach the matcher without a rebuild
    await env.gallery.update(p.id, { name: 'Anne', threshold: 0.8 })
    const res2 = m.match(atCosine(e, 0.7, rng(3)), T)
    expect(res2.candidates[0].name).toBe('Anne')
    expect(res2.band).toBe('review')
  })

  it('does not enlarge small photos', async () => {
    const p = await env.gallery.create({ name: 'Small' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 120, h: 120 }, embedding(4))]
    const r = await upload(p.id, { bytes: await jpegOf(200, 150) })
    if (!r.ok) throw new Error(r.message)
    const meta = await sharp(join(env.dir, 'media', r.photo.media)).metadata()
    expect([meta.width, meta.height]).toEqual([200, 150])
  })

  it('rejects a photo without a face', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = []
    const r = await upload(p.id)
    expect(r).toMatchObject({ ok: false, code: 'no_face', faces: [] })
    if (!r.ok) expect(r.message).toMatch(/no face/)
  })

  it('asks which face when there are several, and enrols the chosen one', async () => {
    const p = await env.gallery.create({ name: 'A' })
    const left = embedding(5)
    const right = embedding(6)
    env.analyzer.next = [face({ x: 400, y: 50, w: 100, h: 100 }, right), face({ x: 20, y: 40, w: 100, h: 100 }, left)]
    const r = await upload(p.id)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.code).toBe('multiple_faces')
    expect(r.message).toMatch(/2 faces/)
    // equal sizes: left to right
    expect(r.faces.map((f) => f.box.x)).toEqual([20, 400])
    const chosen = await upload(p.id, { faceIndex: 1 })
    expect(chosen.ok).toBe(true)
    const stored = (await env.sql.gallery.loadAll())[0].photos
    expect(stored).toHaveLength(1)
    expect(Array.from(stored[0].embedding)).toEqual(Array.from(right))
    const out = await upload(p.id, { faceIndex: 2 })
    expect(out).toMatchObject({ ok: false, code: 'multiple_faces' })
    if (!out.ok) expect(out.message).toMatch(/face 2 does not exist/)
  })

  it('ignores small background faces and detector echoes inside the face', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = [
      face({ x: 10, y: 10, w: 300, h: 300 }, embedding(7)),
      face({ x: 500, y: 10, w: 140, h: 140 }, embedding(8))
    ]
    expect((await upload(p.id)).ok).toBe(true)
    env.analyzer.next = [
      face({ x: 19, y: 21, w: 60, h: 53 }, embedding(8)),
      face({ x: 13, y: 31, w: 115, h: 101 }, embedding(7))
    ]
    const r = await upload(p.id)
    expect(r.ok).toBe(true)
    expect(Array.from((await env.sql.gallery.loadAll())[0].photos[1].embedding)).toEqual(Array.from(embedding(7)))
    // two real faces side by side are still two
    env.analyzer.next = [
      face({ x: 0, y: 0, w: 100, h: 100 }, embedding(7)),
      face({ x: 90, y: 0, w: 100, h: 100 }, embedding(8))
    ]
    expect(await upload(p.id)).toMatchObject({ ok: false, code: 'multiple_faces' })
  })

  it('containedFraction', () => {
    expect(containedFraction({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 20, h: 20 })).toBe(1)
    expect(containedFraction({ x: 15, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 20, h: 20 })).toBe(0.5)
    expect(containedFraction({ x: 30, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 20, h: 20 })).toBe(0)
  })

  it('rejects low quality and says what is low', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 30, h: 30 }, embedding(9), { blur: 10, yawDeg: 50, score: 0.1 })]
    const r = await upload(p.id)
    expect(r).toMatchObject({ ok: false, code: 'low_quality' })
    if (r.ok) return
    expect(r.message).toMatch(/0\.10 is below the minimum 0\.30/)
    expect(r.message).toMatch(/too small \(30 px/)
    expect(r.message).toMatch(/blurry/)
    expect(r.message).toMatch(/turned away \(yaw 50°/)
    expect(r.faces).toHaveLength(1)
    // the gate follows the setting
    env.settings.minEnrolQuality = 0.05
    expect((await upload(p.id)).ok).toBe(true)
  })

  it('names the weakest factor when none is very weak', () => {
    expect(qualityProblems({ ...GOOD_QUALITY, blur: 70 })[0]).toMatch(/blurry/)
    expect(qualityProblems({ ...GOOD_QUALITY, yawDeg: 45 })[0]).toMatch(/turned away/)
  })

  it('maps analyzer errors to enrolment errors and rethrows internal ones', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = new ApiError('bad_image', 'not a readable image (unsupported format)')
    expect(await upload(p.id, { fileName: 'x.bin' })).toMatchObject({
      ok: false,
      code: 'bad_image',
      message: 'x.bin: not a readable image (unsupported format)'
    })
    env.analyzer.next = new ApiError('too_large', 'image is 20000×20000 (400.0 MP); the limit is 40 MP')
    expect(await upload(p.id)).toMatchObject({ ok: false, code: 'too_large' })
    env.analyzer.next = new ApiError('busy', 'queue full')
    const busy = await upload(p.id)
    expect(busy).toMatchObject({ ok: false, code: 'busy' })
    if (!busy.ok) expect(busy.message).toMatch(/try again/)
    env.analyzer.next = new Error('onnx exploded')
    await expect(upload(p.id)).rejects.toThrow(/onnx exploded/)
  })

  it('refuses empty, non-base64 and oversized uploads before analysis', async () => {
    const p = await env.gallery.create({ name: 'A' })
    const calls = env.analyzer.calls.length
    expect(await env.gallery.addPhoto({ personId: p.id, fileName: 'e.jpg', dataBase64: '' })).toMatchObject({
      ok: false,
      code: 'bad_image'
    })
    expect(
      await env.gallery.addPhoto({ personId: p.id, fileName: 'e.jpg', dataBase64: '%%%not base64%%%' })
    ).toMatchObject({ ok: false, code: 'bad_image' })
    const huge = Buffer.alloc(31 * 1024 * 1024, 1).toString('base64')
    const r = await env.gallery.addPhoto({ personId: p.id, fileName: 'huge.jpg', dataBase64: huge })
    expect(r).toMatchObject({ ok: false, code: 'too_large' })
    expect(env.analyzer.calls.length).toBe(calls)
  })

  it('accepts a data: URL', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(10))]
    const b = await jpegOf(100, 100)
    const r = await env.gallery.addPhoto({
      personId: p.id,
      fileName: 'a.jpg',
      dataBase64: `data:image/jpeg;base64,${b.toString('base64')}`
    })
    expect(r.ok).toBe(true)
  })

  it('a failed enrolment loses nothing already stored', async () => {
    const p = await env.gallery.create({ name: 'Keep' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(11))]
    expect((await upload(p.id)).ok).toBe(true)
    const before = await snapshot(env)
    const sizeBefore = env.gallery.matcher().size
    const attempts: (() => Promise<unknown>)[] = [
      async () => {
        env.analyzer.next = []
        return upload(p.id)
      },
      async () => {
        env.analyzer.next = [
          face({ x: 0, y: 0, w: 100, h: 100 }, embedding(12)),
          face({ x: 200, y: 0, w: 100, h: 100 }, embedding(13))
        ]
        return upload(p.id)
      },
      async () => {
        env.analyzer.next = [face({ x: 0, y: 0, w: 20, h: 20 }, embedding(14), { score: 0.05 })]
        return upload(p.id)
      },
      async () => {
        env.analyzer.next = new ApiError('bad_image', 'corrupt')
        return upload(p.id)
      },
      async () => {
        env.analyzer.next = new ApiError('too_large', 'huge')
        return upload(p.id)
      },
      async () => upload(p.id, { bytes: Buffer.from('not an image at all') }).catch((e: unknown) => e),
      async () => env.gallery.create({ name: 'keep' }).catch((e: unknown) => e)
    ]
    for (const attempt of attempts) {
      const r = await attempt()
      expect(r).not.toMatchObject({ ok: true })
      expect(await snapshot(env)).toEqual(before)
      expect(env.gallery.matcher().size).toBe(sizeBefore)
    }
  })

  it('rolls back and removes the new file when the database write fails', async () => {
    const p = await env.gallery.create({ name: 'Disk' })
    const before = await snapshot(env)
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(15))]
    env.failWrites.on = true
    await expect(upload(p.id)).rejects.toThrow(/disk is full/)
    await expect(env.gallery.create({ name: 'Other' })).rejects.toThrow(/disk is full/)
    await expect(env.gallery.update(p.id, { name: 'Renamed' })).rejects.toThrow(/disk is full/)
    await expect(env.gallery.delete(p.id)).rejects.toThrow(/disk is full/)
    env.failWrites.on = false
    // removing a photo whose write fails keeps photo, file and reference
    const ok = await upload(p.id)
    if (!ok.ok) throw new Error(ok.message)
    const withPhoto = await snapshot(env)
    env.failWrites.on = true
    await expect(env.gallery.removePhoto(p.id, ok.photo.id)).rejects.toThrow(/disk is full/)
    env.failWrites.on = false
    expect(await snapshot(env)).toEqual(withPhoto)
    expect(env.gallery.matcher().size).toBe(1)
    await env.gallery.removePhoto(p.id, ok.photo.id)
    const after = await snapshot(env)
    // removing the photo again bumped the person's updatedAt; everything else is as before
    expect({ ...after.tables, people: [] }).toEqual({ ...before.tables, people: [] })
    expect(after.files).toEqual(before.files)
    expect(env.gallery.matcher().size).toBe(0)
    expect(env.gallery.list().map((x) => x.name)).toEqual(['Disk'])
  })
})

describe('Gallery: reference photos', () => {
  it('removes a photo, its file and its reference', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(16))]
    const r1 = await upload(p.id)
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(17))]
    const r2 = await upload(p.id)
    if (!r1.ok || !r2.ok) throw new Error('enrolment failed')
    expect(env.gallery.matcher().size).toBe(2)
    const after = await env.gallery.removePhoto(p.id, r1.photo.id)
    expect(after.photos.map((x) => x.id)).toEqual([r2.photo.id])
    expect(existsSync(join(env.dir, 'media', r1.photo.media))).toBe(false)
    expect(existsSync(join(env.dir, 'media', r2.photo.media))).toBe(true)
    expect(env.gallery.matcher().size).toBe(1)
    expect(env.gallery.matcher().match(embedding(16), T).score).toBeLessThan(0.3)
  })

  it('adds a confirmed crop as a review reference', async () => {
    const p = await env.gallery.create({ name: 'A' })
    const e = embedding(18)
    const photo = await env.gallery.addReferenceFromCrop(p.id, {
      jpeg: await jpegOf(112, 112),
      embedding: e,
      quality: GOOD_QUALITY
    })
    expect(photo).toMatchObject({ personId: p.id, source: 'review' })
    expect(env.gallery.get(p.id).photos).toHaveLength(1)
    expect(env.gallery.matcher().match(e, T).candidates[0].personId).toBe(p.id)
    expect(
      (
        await apiError(
          env.gallery.addReferenceFromCrop(p.id, {
            jpeg: await jpegOf(8, 8),
            embedding: new Float32Array(3),
            quality: GOOD_QUALITY
          })
        )
      ).code
    ).toBe('invalid_request')
    expect(
      (
        await apiError(
          env.gallery.addReferenceFromCrop(p.id, { jpeg: Buffer.from('png?'), embedding: e, quality: GOOD_QUALITY })
        )
      ).code
    ).toBe('bad_image')
    expect(
      (
        await apiError(
          env.gallery.addReferenceFromCrop('nope', { jpeg: await jpegOf(8, 8), embedding: e, quality: GOOD_QUALITY })
        )
      ).code
    ).toBe('not_found')
    expect(env.gallery.get(p.id).photos).toHaveLength(1)
  })

  it('rebuilds the matcher from the store on start and skips damaged embeddings', async () => {
    const p = await env.gallery.create({ name: 'A' })
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(19))]
    await upload(p.id)
    env.analyzer.next = [face({ x: 10, y: 10, w: 150, h: 150 }, embedding(20))]
    await upload(p.id)
    const [first] = await env.sql.gallery.loadAll()
    await env.sql.db.run('UPDATE photos SET embedding = ? WHERE id = ?', [new Uint8Array(3 * 4), first.photos[1].id])
    await env.sql.db.run('UPDATE people SET threshold = 7')
    const g2 = new Gallery(new SqlGalleryRepo(env.sql.db), env.media, env.analyzer, () => env.settings, {
      logger: recordingLogger((level, m) => void ((level === 'warn' || level === 'error') && env.warnings.push(m)))
    })
    await g2.load()
    expect(g2.matcher().size).toBe(1)
    expect(g2.list()[0].photos).toHaveLength(2)
    expect(env.warnings.some((w) => /unusable embedding/.test(w))).toBe(true)
    expect(env.warnings.some((w) => /invalid threshold 7/.test(w))).toBe(true)
  })
})
