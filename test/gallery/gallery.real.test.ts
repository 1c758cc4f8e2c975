// Enrolment and matching with the real face pipeline on the shared photos.
import { skipUnless } from '../support/data'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import type { EnrolResult } from '../../src/shared/types'
import { FacePipeline } from '../../src/main/inference/pipeline'
import { makeEnv, snapshot, type Env } from './fixtures'
import { DATA_DIR, REPO_ROOT } from '../support/data'

const repoRoot = REPO_ROOT
const DATA = DATA_DIR
const haveData =
  existsSync(join(DATA, 'gallery-bbt')) && existsSync(join(DATA, 'scenes')) && existsSync(join(DATA, 'lfw-subset'))
const haveModels = existsSync(join(repoRoot, 'models', 'fr_feature.onnx'))
if (!haveData) console.warn(`[gallery.real] skipped: test data not found at ${DATA} (set VIGIL_TEST_DATA)`)
else if (!haveModels) console.warn('[gallery.real] skipped: models/*.onnx missing (npm run models)')

const T = { accept: 0.5, review: 0.35 }

/** crc32 for a hand-made PNG header */
function crc32(buf: Buffer): number {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}

/** A PNG whose header claims width×height (no real pixels): must be refused before decoding. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(td))
    return Buffer.concat([len, td, crc])
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(16)),
    chunk('IEND', Buffer.alloc(0))
  ])
}

describe.skipIf(
  skipUnless('gallery with the real pipeline', [
    [haveData, 'test data missing (set VIGIL_TEST_DATA)'],
    [haveModels, 'models missing (npm run models)']
  ])
)('Gallery with the real pipeline', () => {
  let pipe: FacePipeline
  let env: Env<FacePipeline>

  beforeAll(async () => {
    pipe = await FacePipeline.create()
    env = await makeEnv(pipe)
  })
  afterAll(async () => {
    await env?.close()
    await pipe?.close()
  })

  const file = (rel: string): Promise<Buffer> => readFile(join(DATA, rel))
  const add = async (personId: string, bytes: Buffer, fileName: string, faceIndex?: number): Promise<EnrolResult> =>
    env.gallery.addPhoto({ personId, fileName, dataBase64: bytes.toString('base64'), faceIndex })

  it('enrols two photos per gallery-bbt person and recognises the other three', async () => {
    const people = readdirSync(join(DATA, 'gallery-bbt')).sort()
    const ids = new Map<string, string>()
    for (const name of people) {
      const p = await env.gallery.create({ name })
      ids.set(name, p.id)
      const photos = readdirSync(join(DATA, 'gallery-bbt', name)).sort()
      for (const f of photos.slice(0, 2)) {
        const r = await add(p.id, await file(`gallery-bbt/${name}/${f}`), f)
        if (!r.ok) throw new Error(`${name}/${f}: ${r.code} ${r.message}`)
      }
    }
    expect(env.gallery.matcher().size).toBe(people.length * 2)
    let right = 0
    let total = 0
    const bands: Record<string, number> = { match: 0, review: 0, unknown: 0 }
    for (const name of people) {
      for (const f of readdirSync(join(DATA, 'gallery-bbt', name))
        .sort()
        .slice(2)) {
        const a = await pipe.analyzeEncoded(await file(`gallery-bbt/${name}/${f}`), { maxFaces: 1 })
        const e = a.faces[0]?.embedding
        if (!e) continue
        const res = env.gallery.matcher().match(e, T, 3)
        total++
        bands[res.band]++
        if (res.candidates[0]?.personId === ids.get(name)) right++
      }
    }
    console.log(`[gallery.real] gallery-bbt rank-1 ${right}/${total}, bands ${JSON.stringify(bands)}`)
    expect(total).toBeGreaterThanOrEqual(20)
    expect(right / total).toBeGreaterThanOrEqual(0.9)
  })

  it('asks which face in a group photo, then enrols the chosen one', async () => {
    const p = await env.gallery.create({ name: 'Group pick' })
    const bytes = await file('scenes/bbt1.jpg')
    const r = await add(p.id, bytes, 'bbt1.jpg')
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.code).toBe('multiple_faces')
    expect(r.faces.length).toBeGreaterThanOrEqual(2)
    for (const f of r.faces) expect(f.box.w).toBeGreaterThan(20)
    const chosen = await add(p.id, bytes, 'bbt1.jpg', 0)
    expect(chosen.ok).toBe(true)
  })

  it('answers bad_image, too_large, no_face and low_quality clearly and stores nothing', async () => {
    const p = await env.gallery.create({ name: 'Rejects' })
    const before = await snapshot(env)
    const lfwDir = join(DATA, 'lfw-subset', 'Tony_Blair')
    const lfw = await readFile(join(lfwDir, readdirSync(lfwDir).sort()[0]))
    const scene = await file('scenes/bbt1.jpg')

    const truncated = await add(p.id, scene.subarray(0, Math.floor(scene.length / 3)), 'truncated.jpg')
    expect(truncated).toMatchObject({ ok: false, code: 'bad_image' })
    const junk = await add(p.id, Buffer.from('this is not an image, just text'), 'notes.txt')
    expect(junk).toMatchObject({ ok: false, code: 'bad_image' })
    if (!junk.ok) expect(junk.message).toMatch(/notes\.txt: not a readable image/)
    const huge = await add(p.id, pngHeader(20000, 20000), 'huge.png')
    expect(huge).toMatchObject({ ok: false, code: 'too_large' })
    if (!huge.ok) expect(huge.message).toMatch(/MP/)
    const grey = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer()
    expect(await add(p.id, grey, 'grey.jpg')).toMatchObject({ ok: false, code: 'no_face' })
    const blurred = await sharp(lfw).blur(5).jpeg().toBuffer()
    const low = await add(p.id, blurred, 'blurred.jpg')
    expect(low).toMatchObject({ ok: false, code: 'low_quality' })
    if (!low.ok) {
      expect(low.message).toMatch(/blurry/)
      expect(low.faces).toHaveLength(1)
    }
    expect(await snapshot(env)).toEqual(before)
    // an LFW portrait with a bystander's sliver at the edge is one face, not "which one?"
    const ok = await add(p.id, lfw, 'blair.jpg')
    expect(ok.ok).toBe(true)
  })
})
