// The speed-ups of the pipeline's pre-processing must not change what the models see: the fused and
// table-driven JS paths are checked bit for bit against the straightforward two-step forms (kept
// here as references), and the WebAssembly kernel against its documented tolerance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RgbImage } from '../../src/main/contracts'
import { estimateSimilarity, invertAffine, warpAffineRgb, type Affine } from '../../src/main/inference/align'
import { FacePipeline, InputTensors, toNormalisedChw } from '../../src/main/inference/pipeline'
import {
  cropResizeGrey,
  resizeArea,
  resizeBilinear,
  resizeBilinearToChw,
  resizeRgb,
  resizeToChw,
  rgbToNormalisedChw
} from '../../src/main/inference/resize'
import {
  resizeBilinearToChwSimd,
  resizeModuleBytes,
  SIMD_MAX_SOURCE_BYTES,
  simdResizeAvailable,
  withResizedChw
} from '../../src/main/inference/simd-resize'
import { skipWithoutModels } from '../support/data'

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

/** Smooth gradients plus noise: interpolation lands on every fractional position. */
function image(width: number, height: number, seed = 1): RgbImage {
  const r = rng(seed)
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3
      data[o] = (x * 255) / Math.max(1, width - 1)
      data[o + 1] = (y * 255) / Math.max(1, height - 1)
      data[o + 2] = r() * 256
    }
  }
  return { data, width, height }
}

/** Index of the first differing element, −1 when equal (toEqual on 230 400 floats takes seconds). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i
  return -1
}

/** The normalisation as it was first written: per sample (v − 127) / 128. */
function referenceChw(img: RgbImage, order: 'rgb' | 'bgr'): Float32Array {
  const n = img.width * img.height
  const out = new Float32Array(3 * n)
  const [c0, c2] = order === 'rgb' ? [0, 2] : [2, 0]
  for (let i = 0; i < n; i++) {
    out[i] = (img.data[3 * i + c0] - 127) / 128
    out[n + i] = (img.data[3 * i + 1] - 127) / 128
    out[2 * n + i] = (img.data[3 * i + c2] - 127) / 128
  }
  return out
}

/** cropResizeGrey before its interior fast path: every tap through the bounds-checked luma. */
function referenceCropGrey(
  img: RgbImage,
  rect: { x: number; y: number; w: number; h: number },
  outW: number,
  outH: number
): Uint8Array {
  const { data, width: W, height: H } = img
  const out = new Uint8Array(outW * outH)
  const sx = rect.w / outW
  const sy = rect.h / outH
  const kx = Math.max(1, Math.min(4, Math.floor(sx)))
  const ky = Math.max(1, Math.min(4, Math.floor(sy)))
  const luma = (xx: number, yy: number): number => {
    if (xx < 0 || yy < 0 || xx >= W || yy >= H) return 0
    const i = (yy * W + xx) * 3
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]
  }
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let s = 0
      for (let j = 0; j < ky; j++) {
        const y = rect.y + (v + (j + 0.5) / ky) * sy - 0.5
        const y0 = Math.floor(y)
        const fy = y - y0
        for (let i = 0; i < kx; i++) {
          const x = rect.x + (u + (i + 0.5) / kx) * sx - 0.5
          const x0 = Math.floor(x)
          const fx = x - x0
          const top = luma(x0, y0) * (1 - fx) + luma(x0 + 1, y0) * fx
          const bot = luma(x0, y0 + 1) * (1 - fx) + luma(x0 + 1, y0 + 1) * fx
          s += top * (1 - fy) + bot * fy
        }
      }
      out[v * outW + u] = s / (kx * ky) + 0.5
    }
  }
  return out
}

/** warpAffineRgb before its interior fast path. */
function referenceWarp(img: RgbImage, m: Affine, width: number, height: number): Uint8Array {
  const inv = invertAffine(m)
  const out = new Uint8Array(width * height * 3)
  const { data, width: W, height: H } = img
  for (let v = 0; v < height; v++) {
    let x = inv[1] * v + inv[2]
    let y = inv[4] * v + inv[5]
    for (let u = 0; u < width; u++, x += inv[0], y += inv[3]) {
      const x0 = Math.floor(x)
      const y0 = Math.floor(y)
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) continue
      const fx = x - x0
      const fy = y - y0
      for (let c = 0; c < 3; c++) {
        let s = 0
        const px = (xx: number, yy: number): number =>
          xx >= 0 && yy >= 0 && xx < W && yy < H ? data[(yy * W + xx) * 3 + c] : 0
        s += (1 - fx) * (1 - fy) * px(x0, y0)
        s += fx * (1 - fy) * px(x0 + 1, y0)
        s += (1 - fx) * fy * px(x0, y0 + 1)
        s += fx * fy * px(x0 + 1, y0 + 1)
        out[(v * width + u) * 3 + c] = s + 0.5
      }
    }
  }
  return out
}

const SIZES: [number, number][] = [
  [250, 250], // LFW photo → 320×240: upscale in x, slight downscale in y
  [640, 360], // camera frame
  [100, 61], // odd sizes, strong upscale
  [1, 1],
  [333, 1]
]

describe('normalisation and fused resize (JS)', () => {
  it('the lookup table gives exactly (v − 127) / 128 in both channel orders', () => {
    const img = image(37, 23, 5)
    for (const order of ['rgb', 'bgr'] as const) {
      expect(firstDifference(rgbToNormalisedChw(img, order), referenceChw(img, order))).toBe(-1)
      expect(firstDifference(toNormalisedChw(img, order), referenceChw(img, order))).toBe(-1)
    }
  })
  it('writes into a given buffer and refuses one of the wrong size', () => {
    const img = image(4, 3)
    const buf = new Float32Array(36)
    expect(rgbToNormalisedChw(img, 'rgb', buf)).toBe(buf)
    expect(() => rgbToNormalisedChw(img, 'rgb', new Float32Array(35))).toThrow(/35 floats, expected 36/)
  })
  it('resize + normalise in one pass equals the two-step form bit for bit', () => {
    for (const [w, h] of SIZES) {
      const img = image(w, h, w + h)
      for (const order of ['rgb', 'bgr'] as const) {
        expect(
          firstDifference(
            resizeBilinearToChw(img, 320, 240, order),
            referenceChw(resizeBilinear(img, 320, 240), order)
          ),
          `${w}×${h} ${order}`
        ).toBe(-1)
      }
    }
    const small = image(9, 7)
    expect(
      firstDifference(resizeBilinearToChw(small, 5, 4, 'bgr'), referenceChw(resizeBilinear(small, 5, 4), 'bgr'))
    ).toBe(-1)
  })
  it('resizeToChw picks the same resampling as resizeRgb / the tuning', () => {
    const big = image(700, 500, 3)
    expect(
      firstDifference(resizeToChw(big, 320, 240, 'rgb', 'auto'), referenceChw(resizeRgb(big, 320, 240), 'rgb'))
    ).toBe(-1)
    expect(
      firstDifference(resizeToChw(big, 320, 240, 'rgb', 'area'), referenceChw(resizeArea(big, 320, 240), 'rgb'))
    ).toBe(-1)
    const same = image(320, 240, 4)
    expect(firstDifference(resizeToChw(same, 320, 240, 'bgr', 'auto'), referenceChw(same, 'bgr'))).toBe(-1)
  })
})

describe('WebAssembly SIMD resize', () => {
  it('is available on this Node (or the JS path is used)', () => {
    // Node ≥ 16.4 has WebAssembly SIMD on by default; if this fails the detector silently runs the
    // slower JS path, which is correct but misses the bench target.
    expect(simdResizeAvailable()).toBe(true)
    const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly
    expect(wasm.validate(resizeModuleBytes())).toBe(true)
  })
  it('matches the JS reference to one grey level, on a few samples in 10 000 at most', () => {
    for (const [w, h] of SIZES) {
      const img = image(w, h, 7 * w + h)
      for (const order of ['rgb', 'bgr'] as const) {
        const ref = referenceChw(resizeBilinear(img, 320, 240), order)
        const got = new Float32Array(ref.length).fill(NaN)
        expect(resizeBilinearToChwSimd(img, 320, 240, order, got)).toBe(true)
        let differ = 0
        let worst = 0
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(got[i] - ref[i])
          if (d > 0) differ++
          if (!(d <= worst)) worst = d
        }
        expect(worst, `${w}×${h} ${order}`).toBeLessThanOrEqual(1 / 128 + 1e-7)
        expect(differ / ref.length, `${w}×${h} ${order}`).toBeLessThan(1e-3)
      }
    }
  })
  it('is exact when no interpolation is needed', () => {
    const img = image(320, 240, 11)
    const got = new Float32Array(3 * 320 * 240)
    expect(resizeBilinearToChwSimd(img, 320, 240, 'rgb', got)).toBe(true)
    expect(firstDifference(got, referenceChw(img, 'rgb'))).toBe(-1)
  })
  it('gives the same answer after a bigger image made it grow its memory', () => {
    const small = image(250, 250, 2)
    const a = new Float32Array(3 * 320 * 240)
    const b = new Float32Array(3 * 320 * 240)
    resizeBilinearToChwSimd(small, 320, 240, 'rgb', a)
    resizeBilinearToChwSimd(image(1200, 900, 3), 320, 240, 'rgb', b)
    resizeBilinearToChwSimd(small, 320, 240, 'rgb', b)
    expect(firstDifference(b, a)).toBe(-1)
  })
  it('lends its output in place, one caller at a time, and refuses to overwrite it while lent', async () => {
    const imgs = [image(250, 250, 21), image(640, 360, 22), image(100, 61, 23)]
    const expected = imgs.map((img) => {
      const out = new Float32Array(3 * 320 * 240)
      resizeBilinearToChwSimd(img, 320, 240, 'bgr', out)
      return out
    })
    // All three start at once; each holds its view across an await, as a pending session.run does.
    const seen = await Promise.all(
      imgs.map((img) =>
        withResizedChw(img, 320, 240, 'bgr', async (chw) => {
          expect(resizeBilinearToChwSimd(image(8, 8), 320, 240, 'rgb', new Float32Array(3 * 320 * 240))).toBe(false)
          await new Promise((r) => setTimeout(r, 5))
          return chw.slice()
        })
      )
    )
    seen.forEach((r, i) => expect(firstDifference(r?.value ?? [], expected[i])).toBe(-1))
    // free again once every loan is over, and a failing user does not block the next one
    await expect(withResizedChw(imgs[0], 320, 240, 'rgb', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom'
    )
    expect((await withResizedChw(imgs[0], 320, 240, 'rgb', async (chw) => chw.length))?.value).toBe(3 * 320 * 240)
    expect(resizeBilinearToChwSimd(imgs[0], 320, 240, 'rgb', new Float32Array(3 * 320 * 240))).toBe(true)
  })
  it('leaves huge sources to the JS path', async () => {
    const w = 4096
    const h = Math.ceil(SIMD_MAX_SOURCE_BYTES / (3 * w)) + 1
    const huge: RgbImage = { data: new Uint8Array(w * h * 3), width: w, height: h }
    expect(resizeBilinearToChwSimd(huge, 320, 240, 'rgb', new Float32Array(3 * 320 * 240))).toBe(false)
    await expect(withResizedChw(huge, 320, 240, 'rgb', async () => 1)).resolves.toBeNull()
  })
})

describe('crop and warp fast paths', () => {
  it('cropResizeGrey equals the bounds-checked reference, inside, across the edges and when shrinking', () => {
    const img = image(120, 90, 9)
    const rects = [
      { x: 10.3, y: 5.7, w: 64, h: 64 },
      { x: -20.5, y: -10.25, w: 70, h: 80 }, // partly outside: black there
      { x: 80, y: 60, w: 64, h: 64 },
      { x: 0, y: 0, w: 120, h: 90 },
      { x: 3.1, y: 2.2, w: 260, h: 300 }, // kx, ky > 1: sub-sampled
      { x: 30.5, y: 20.5, w: 141, h: 141 }, // 2×2 sub-samples ~1.1 px apart, as an LFW face
      { x: -900, y: -700, w: 2000, h: 1800 } // sparse taps in a huge rectangle: no grey region
    ]
    for (const r of rects)
      expect(
        firstDifference(cropResizeGrey(img, r, 64, 64).data, referenceCropGrey(img, r, 64, 64)),
        JSON.stringify(r)
      ).toBe(-1)
  })
  it('warpAffineRgb equals the per-tap reference, including crops that leave the image', () => {
    const img = image(150, 130, 13)
    const ref5 = [
      { x: 38.29, y: 51.7 },
      { x: 73.53, y: 51.5 },
      { x: 56.03, y: 71.74 },
      { x: 41.55, y: 92.37 },
      { x: 70.73, y: 92.2 }
    ]
    const faces = [
      ref5.map((p) => ({ x: p.x * 0.9 + 20, y: p.y * 0.9 + 10 })), // inside, slightly smaller
      ref5.map((p) => ({ x: p.x * 1.3 - 30, y: p.y * 1.2 - 25 })), // runs off the top-left
      ref5.map((p) => ({ x: 140 - p.y * 0.8, y: p.x * 0.8 + 30 })) // rotated 90°, off the right
    ]
    for (const f of faces) {
      const m = estimateSimilarity(f, ref5)
      expect(firstDifference(warpAffineRgb(img, m, 112, 112).data, referenceWarp(img, m, 112, 112))).toBe(-1)
    }
  })
})

describe('InputTensors', () => {
  it('reuses a tensor once given back, and never hands the same one to two holders', () => {
    const pool = new InputTensors([1, 3, 2, 2])
    const a = pool.take()
    const b = pool.take()
    expect(a.tensor).not.toBe(b.tensor)
    expect(a.data).toHaveLength(12)
    expect(a.tensor.dims).toEqual([1, 3, 2, 2])
    pool.give(a.tensor)
    expect(pool.take().tensor).toBe(a.tensor)
  })
})

describe.skipIf(skipWithoutModels('FacePipeline concurrency'))('FacePipeline with reused model inputs', () => {
  let p: FacePipeline
  beforeAll(async () => {
    p = await FacePipeline.create({ threads: 1 })
  })
  afterAll(async () => {
    await p?.close()
  })
  it('concurrent calls on one pipeline give the same answers as one at a time', async () => {
    // A face-like blob on a textured background is enough to exercise every model input buffer.
    const frames = [image(320, 240, 1), image(250, 250, 2), image(640, 360, 3), image(200, 300, 4)]
    const one: unknown[] = []
    for (const f of frames)
      one.push((await p.analyzeRaw(f, { minFaceSize: 1, scoreThreshold: 0.05, maxFaces: 3 })).faces)
    const all = await Promise.all(
      frames.map((f) => p.analyzeRaw(f, { minFaceSize: 1, scoreThreshold: 0.05, maxFaces: 3 }))
    )
    expect(all.map((r) => r.faces)).toEqual(one)
    expect(one.flat().length).toBeGreaterThan(0)
  })
})
