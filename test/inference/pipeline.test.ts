// Runs without the shared data set: generated images only (models are still required).
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import {
  FacePipeline,
  padImage,
  landmarkRect,
  decodeDetections,
  toNormalisedChw
} from '../../src/main/inference/pipeline'
import { skipWithoutModels } from '../support/data'

describe('pipeline helpers', () => {
  it('normalises to NCHW in either channel order', () => {
    const img = { data: new Uint8Array([255, 127, 0]), width: 1, height: 1 }
    expect(Array.from(toNormalisedChw(img, 'rgb'))).toEqual([1, 0, -127 / 128])
    expect(Array.from(toNormalisedChw(img, 'bgr'))).toEqual([-127 / 128, 0, 1])
  })
  it('decodes detector output to image boxes with threshold and NMS', () => {
    const scores = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.1, 0.9, 0.5, 0.5])
    const boxes = new Float32Array([0, 0, 0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.11, 0.11, 0.5, 0.5, 0.6, 0.6, 0.9, 0.9])
    const d = decodeDetections(scores, boxes, 200, 100, { scoreThreshold: 0.65, nmsIou: 0.4, topK: 750 })
    expect(d).toHaveLength(1)
    expect(d[0].score).toBeCloseTo(0.9, 6)
    expect(d[0].box.x).toBeCloseTo(22, 4)
    expect(d[0].box.h).toBeCloseTo(39, 4)
  })
  it('squares and shifts the landmark crop', () => {
    const r = landmarkRect(
      { x: 10, y: 20, w: 40, h: 60 },
      { landmarkSquare: true, landmarkScale: 1, landmarkShiftY: 0.05 }
    )
    expect(r).toEqual({ x: 0, y: 23, w: 60, h: 60 })
  })
  it('pads an image on a grey canvas', () => {
    const p = padImage({ data: new Uint8Array([1, 2, 3]), width: 1, height: 1 }, 1)
    expect([p.width, p.height]).toEqual([3, 3])
    expect(Array.from(p.data.subarray(12, 15))).toEqual([1, 2, 3])
    expect(p.data[0]).toBe(127)
  })
})

describe.skipIf(skipWithoutModels('FacePipeline (generated images)'))('FacePipeline (generated images)', () => {
  let p: FacePipeline
  beforeAll(async () => {
    p = await FacePipeline.create({ threads: 1 })
  })
  afterAll(async () => {
    await p?.close()
  })

  it('reports the provider it got', () => {
    expect(p.provider).toBe('cpu')
    const [w] = p.workers()
    expect(w).toMatchObject({ id: 0, requested: 'cpu', provider: 'cpu', state: 'ready' })
    expect(p.queueDepth()).toBe(0)
  })
  it('finds no face in a blank image, with timings', async () => {
    const png = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 120, g: 130, b: 140 } }
    })
      .png()
      .toBuffer()
    const r = await p.analyzeEncoded(png)
    expect(r.faces).toEqual([])
    expect([r.width, r.height]).toEqual([640, 480])
    expect(r.timings.decode).toBeGreaterThan(0)
    expect(r.timings.detect).toBeGreaterThan(0)
    expect(r.modelMs).toBeGreaterThan(0)
    expect(r.workerId).toBe(0)
  })
  it('finds no face in noise', async () => {
    const jpg = await sharp({
      create: {
        width: 300,
        height: 200,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 50 }
      }
    })
      .jpeg()
      .toBuffer()
    expect((await p.analyzeEncoded(jpg)).faces).toEqual([])
  })
  it('answers bad_image for garbage bytes and for malformed raw frames', async () => {
    const e1 = await p.analyzeEncoded(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(ApiError)
    expect((e1 as ApiError).code).toBe('bad_image')
    const e2 = await p.analyzeRaw({ data: new Uint8Array(10), width: 4, height: 4 }).catch((e: unknown) => e)
    expect((e2 as ApiError).code).toBe('bad_image')
    expect((e2 as ApiError).message).toMatch(/expected 4×4×3 = 48/)
    const e3 = await p.analyzeRaw({ data: new Uint8Array(0), width: 0, height: 0 }).catch((e: unknown) => e)
    expect((e3 as ApiError).code).toBe('bad_image')
  })
  it('answers too_large for an image over 40 MP', async () => {
    const e = await p
      .analyzeEncoded(
        await sharp({ create: { width: 7000, height: 6000, channels: 3, background: '#000' } })
          .png({ compressionLevel: 1 })
          .toBuffer()
      )
      .catch((x: unknown) => x)
    expect((e as ApiError).code).toBe('too_large')
  })
  it('refuses work once closed', async () => {
    const q = await FacePipeline.create({ provider: process.platform === 'darwin' ? 'dml' : 'coreml' })
    expect(q.provider).toBe('cpu')
    expect(q.fallbackReason).toMatch(/not available/)
    await q.close()
    expect(q.workers()[0].state).toBe('stopped')
    const e = await q.analyzeRaw({ data: new Uint8Array(3), width: 1, height: 1 }).catch((x: unknown) => x)
    expect((e as Error).message).toMatch(/closed/)
  })
})
