// On real photos from the shared data set; skipped (with a printed reason) when it is absent.
import { readFile } from 'node:fs/promises'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { decodeImage } from '../../src/main/inference/image'
import { FacePipeline } from '../../src/main/inference/pipeline'
import { dot, norm } from '../../src/main/math/vector'
import { dataPath, skipWithoutData, skipWithoutModels } from '../support/data'

const PEOPLE = ['Ariel_Sharon', 'Colin_Powell', 'George_W_Bush', 'Tony_Blair']
const lfw = (person: string, n: number): string =>
  dataPath('lfw-subset', person, `${person}_${String(n).padStart(4, '0')}.jpg`)

const skip =
  skipWithoutModels('pipeline on real photos') ||
  skipWithoutData('lfw-subset', 'pipeline on real photos') ||
  skipWithoutData('scenes', 'pipeline on real photos')

describe.skipIf(skip)('pipeline on real photos', () => {
  let p: FacePipeline
  beforeAll(async () => {
    p = await FacePipeline.create()
  })
  afterAll(async () => {
    await p?.close()
  })

  it('finds one face per lfw photo, with a unit 512-d embedding, and same person > different person', async () => {
    const emb: { person: string; e: Float32Array }[] = []
    for (const person of PEOPLE) {
      for (const n of [1, 2, 3]) {
        const r = await p.analyzeEncoded(await readFile(lfw(person, n)))
        expect(r.faces.length, `${person} ${n}`).toBeGreaterThanOrEqual(1)
        const f = r.faces[0]
        expect(f.embedding).toHaveLength(512)
        expect(norm(f.embedding as Float32Array)).toBeCloseTo(1, 4)
        expect(f.landmarks5).toHaveLength(5)
        expect(f.quality.score).toBeGreaterThan(0.3)
        // LFW faces sit in the middle of the 250×250 frame.
        expect(Math.abs(f.box.x + f.box.w / 2 - 125)).toBeLessThan(30)
        emb.push({ person, e: f.embedding as Float32Array })
      }
    }
    let minSame = Infinity
    let maxDiff = -Infinity
    for (let i = 0; i < emb.length; i++) {
      for (let j = i + 1; j < emb.length; j++) {
        const s = dot(emb[i].e, emb[j].e)
        if (emb[i].person === emb[j].person) minSame = Math.min(minSame, s)
        else maxDiff = Math.max(maxDiff, s)
      }
    }
    console.info(
      `lfw sample: lowest same-person similarity ${minSame.toFixed(3)}, highest different-person ${maxDiff.toFixed(3)}`
    )
    expect(minSame).toBeGreaterThan(maxDiff)
  })

  it('finds the four faces of a group photo, honouring maxFaces and minFaceSize', async () => {
    const bytes = await readFile(dataPath('scenes', 'bbt1.jpg'))
    const r = await p.analyzeEncoded(bytes, { embed: false })
    expect(r.faces.length).toBe(4)
    for (const f of r.faces) {
      expect(f.embedding).toBeNull()
      expect(f.box.x).toBeGreaterThanOrEqual(0)
      expect(f.box.x + f.box.w).toBeLessThanOrEqual(r.width)
    }
    // largest first
    const areas = r.faces.map((f) => f.box.w * f.box.h)
    expect([...areas].sort((a, b) => b - a)).toEqual(areas)
    expect((await p.analyzeEncoded(bytes, { maxFaces: 2, embed: false })).faces).toHaveLength(2)
    expect((await p.analyzeEncoded(bytes, { minFaceSize: 500, embed: false })).faces).toHaveLength(0)
  })

  it('gives the same answer for raw frames as for the encoded photo, and returns aligned crops', async () => {
    const bytes = await readFile(lfw('Tony_Blair', 4))
    const enc = await p.analyzeEncoded(bytes, { returnCrops: true })
    const raw = await p.analyzeRaw(await decodeImage(bytes))
    expect(raw.timings.decode).toBeUndefined()
    expect(dot(enc.faces[0].embedding as Float32Array, raw.faces[0].embedding as Float32Array)).toBeCloseTo(1, 5)
    const crop = enc.faces[0].alignedCrop
    expect(crop && [crop.width, crop.height, crop.data.length]).toEqual([112, 112, 112 * 112 * 3])
    for (const s of ['detect', 'landmarks', 'align', 'embed', 'quality'] as const)
      expect(enc.timings[s]).toBeGreaterThan(0)
  })

  it('flip augmentation and a 4× enlarged photo stay close to the plain embedding', async () => {
    const bytes = await readFile(lfw('Colin_Powell', 2))
    const plain = (await p.analyzeEncoded(bytes)).faces[0].embedding as Float32Array
    const flipped = (await p.analyzeEncoded(bytes, { flipAugment: true })).faces[0].embedding as Float32Array
    expect(dot(plain, flipped)).toBeGreaterThan(0.9)
    // A large face goes through the box-downscale-then-warp path.
    const big = await sharp(bytes).resize(1000, 1000, { kernel: 'lanczos3' }).jpeg({ quality: 95 }).toBuffer()
    const bigEmb = (await p.analyzeEncoded(big)).faces[0].embedding as Float32Array
    expect(dot(plain, bigEmb)).toBeGreaterThan(0.95)
  })

  it('finds a tightly cropped face by retrying on a padded canvas', async () => {
    const path = dataPath('gallery-bbt', 'leonard', 'leonard5.png')
    if (skipWithoutData('gallery-bbt/leonard/leonard5.png', 'tight crop retry')) return
    const bytes = await readFile(path)
    const r = await p.analyzeEncoded(bytes)
    expect(r.faces).toHaveLength(1)
    expect([r.width, r.height]).toEqual([150, 150])
    const b = r.faces[0].box
    expect(b.x).toBeGreaterThanOrEqual(0)
    expect(b.x + b.w).toBeLessThanOrEqual(150)
    // Camera frames are never retried: the raw path sees no face.
    expect((await p.analyzeRaw(await decodeImage(bytes))).faces).toHaveLength(0)
  })

  it('refuses a corrupt photo and a huge one with clear errors', async () => {
    const jpg = await readFile(lfw('Ariel_Sharon', 1))
    const corrupt = await p.analyzeEncoded(jpg.subarray(0, Math.floor(jpg.length / 2))).catch((e: unknown) => e)
    expect(corrupt).toBeInstanceOf(ApiError)
    expect((corrupt as ApiError).code).toBe('bad_image')
    expect((corrupt as ApiError).message).toMatch(/not a readable image/)
    const huge = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#606060' } })
      .jpeg()
      .toBuffer()
    const tooLarge = await p.analyzeEncoded(huge).catch((e: unknown) => e)
    expect((tooLarge as ApiError).code).toBe('too_large')
    expect((tooLarge as ApiError).message).toMatch(/8000×6000 \(48\.0 MP\); the limit is 40 MP/)
  })
})
