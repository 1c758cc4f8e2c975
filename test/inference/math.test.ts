import { describe, expect, it } from 'vitest'
import type { Point } from '../../src/shared/types'
import {
  ARCFACE_REF_112,
  type Affine,
  applyAffine,
  estimateSimilarity,
  invertAffine,
  mirrorRgb,
  similarityScale,
  warpAffineRgb
} from '../../src/main/inference/align'
import { landmarks68to5, unpackPoints } from '../../src/main/inference/landmarks'
import { nms } from '../../src/main/inference/nms'
import { cosine, dot, iouCorners as iou, l2normalize, meanDirection, norm } from '../../src/main/math/vector'

describe('vector', () => {
  it('normalises, and keeps a zero vector zero', () => {
    const v = l2normalize([3, 4])
    expect(v[0]).toBeCloseTo(0.6, 6)
    expect(v[1]).toBeCloseTo(0.8, 6)
    expect(norm(v)).toBeCloseTo(1, 6)
    expect(Array.from(l2normalize([0, 0]))).toEqual([0, 0])
  })
  it('cosine is scale-invariant and bounded', () => {
    expect(cosine([1, 0], [5, 0])).toBeCloseTo(1, 9)
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0, 9)
    expect(cosine([1, 1], [-2, -2])).toBeCloseTo(-1, 9)
    expect(cosine([0, 0], [1, 2])).toBe(0)
  })
  it('rejects mismatched lengths', () => {
    expect(() => dot([1, 2], [1])).toThrow(/length mismatch/)
  })
  it('meanDirection weights vectors equally whatever their length', () => {
    const m = meanDirection([
      [10, 0],
      [0, 1]
    ])
    expect(m[0]).toBeCloseTo(Math.SQRT1_2, 6)
    expect(m[1]).toBeCloseTo(Math.SQRT1_2, 6)
  })
})

describe('nms', () => {
  it('computes IoU', () => {
    expect(iou({ x1: 0, y1: 0, x2: 2, y2: 2 }, { x1: 1, y1: 1, x2: 3, y2: 3 })).toBeCloseTo(1 / 7, 9)
    expect(iou({ x1: 0, y1: 0, x2: 1, y2: 1 }, { x1: 2, y1: 2, x2: 3, y2: 3 })).toBe(0)
    expect(iou({ x1: 0, y1: 0, x2: 1, y2: 1 }, { x1: 0, y1: 0, x2: 1, y2: 1 })).toBe(1)
  })
  it('keeps the best of overlapping boxes and separate boxes', () => {
    const kept = nms(
      [
        { x1: 0, y1: 0, x2: 10, y2: 10, score: 0.8 },
        { x1: 1, y1: 1, x2: 11, y2: 11, score: 0.9 },
        { x1: 50, y1: 50, x2: 60, y2: 60, score: 0.7 }
      ],
      0.4
    )
    expect(kept.map((b) => b.score)).toEqual([0.9, 0.7])
  })
  it('topK bounds the candidates', () => {
    const boxes = Array.from({ length: 5 }, (_, i) => ({ x1: i * 100, y1: 0, x2: i * 100 + 10, y2: 10, score: i / 10 }))
    expect(nms(boxes, 0.4, 2).map((b) => b.score)).toEqual([0.4, 0.3])
  })
})

/** A similarity: rotate by theta, scale s, translate (tx, ty). */
function similarity(theta: number, s: number, tx: number, ty: number): Affine {
  const a = s * Math.cos(theta)
  const b = s * Math.sin(theta)
  return [a, -b, tx, b, a, ty]
}

describe('align', () => {
  it('recovers a known similarity transform from 5 transformed points to 1e-6', () => {
    const truth = similarity(0.37, 1.83, -41.5, 17.25)
    const src: Point[] = [
      { x: 101.2, y: 140.7 },
      { x: 160.9, y: 138.1 },
      { x: 131.4, y: 170.3 },
      { x: 108.8, y: 201.6 },
      { x: 155.0, y: 199.9 }
    ]
    const dst = src.map((p) => applyAffine(truth, p))
    const est = estimateSimilarity(src, dst)
    for (let i = 0; i < 6; i++) expect(Math.abs(est[i] - truth[i])).toBeLessThan(1e-6)
    expect(similarityScale(est)).toBeCloseTo(1.83, 6)
  })
  it('never returns a reflection, even for mirrored points', () => {
    const src: Point[] = ARCFACE_REF_112.map((p) => ({ ...p }))
    const mirrored = src.map((p) => ({ x: 112 - p.x, y: p.y }))
    const m = estimateSimilarity(src, mirrored)
    expect(m[0] * m[4] - m[1] * m[3]).toBeGreaterThanOrEqual(0)
    expect(m[0]).toBeCloseTo(m[4], 12)
    expect(m[1]).toBeCloseTo(-m[3], 12)
  })
  it('is a least-squares fit under noise (residual below the noise level)', () => {
    const truth = similarity(-0.2, 0.5, 10, 20)
    const src: Point[] = ARCFACE_REF_112.map((p) => ({ x: p.x * 3 + 40, y: p.y * 3 + 10 }))
    const noise = [0.4, -0.3, 0.1, 0.5, -0.2, -0.4, 0.3, 0.2, -0.1, -0.5]
    const dst = src.map((p, i) => {
      const q = applyAffine(truth, p)
      return { x: q.x + noise[2 * i], y: q.y + noise[2 * i + 1] }
    })
    const est = estimateSimilarity(src, dst)
    const rms = Math.sqrt(
      src.reduce(
        (s, p, i) => s + (applyAffine(est, p).x - dst[i].x) ** 2 + (applyAffine(est, p).y - dst[i].y) ** 2,
        0
      ) / 5
    )
    expect(rms).toBeLessThan(0.5)
  })
  it('rejects degenerate input', () => {
    expect(() =>
      estimateSimilarity(
        [
          { x: 1, y: 1 },
          { x: 1, y: 1 }
        ],
        [
          { x: 0, y: 0 },
          { x: 1, y: 1 }
        ]
      )
    ).toThrow(/degenerate/)
    expect(() =>
      estimateSimilarity(
        [{ x: 1, y: 1 }],
        [
          { x: 0, y: 0 },
          { x: 1, y: 1 }
        ]
      )
    ).toThrow(/mismatch/)
  })
  it('inverts an affine', () => {
    const m = similarity(1.1, 0.7, 5, -3)
    const p = { x: 12.5, y: -7 }
    const back = applyAffine(invertAffine(m), applyAffine(m, p))
    expect(back.x).toBeCloseTo(p.x, 9)
    expect(back.y).toBeCloseTo(p.y, 9)
  })
  it('warps a synthetic image: each output pixel holds the source pixel it maps from', () => {
    // Source pixel (x, y) encodes its own coordinates, so the warp can be checked exactly.
    const W = 64
    const H = 48
    const data = new Uint8Array(W * H * 3)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([x * 3, y * 4, 100], (y * W + x) * 3)
    // 90° rotation + translation maps integer pixels to integer pixels: no interpolation blur.
    const m: Affine = [0, -1, 47, 1, 0, 0]
    const out = warpAffineRgb({ data, width: W, height: H }, m, 48, 64)
    for (const [u, v] of [
      [0, 0],
      [10, 20],
      [47, 63],
      [30, 5]
    ]) {
      const src = applyAffine(invertAffine(m), { x: u, y: v })
      const o = (v * 48 + u) * 3
      expect(out.data[o]).toBe(Math.round(src.x) * 3)
      expect(out.data[o + 1]).toBe(Math.round(src.y) * 4)
      expect(out.data[o + 2]).toBe(100)
    }
  })
  it('interpolates bilinearly and fills outside the source with black', () => {
    const data = new Uint8Array(2 * 1 * 3)
    data.set([0, 0, 0, 200, 200, 200])
    // Shift by half a pixel: the output's first pixel sits between the two source pixels.
    const out = warpAffineRgb({ data, width: 2, height: 1 }, [1, 0, -0.5, 0, 1, 0], 3, 1)
    expect(out.data[0]).toBe(100)
    expect(out.data[6]).toBe(0)
  })
  it('mirrors an image', () => {
    const img = { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 1 }
    expect(Array.from(mirrorRgb(img).data)).toEqual([7, 8, 9, 4, 5, 6, 1, 2, 3])
  })
})

describe('landmarks', () => {
  it('maps 68 points to the 5 ArcFace points as the reference does', () => {
    const flat = new Float32Array(136)
    for (let i = 0; i < 68; i++) {
      flat[2 * i] = i
      flat[2 * i + 1] = 1000 + i
    }
    const p5 = landmarks68to5(unpackPoints(flat))
    expect(p5).toEqual([
      { x: (37 + 38 + 40 + 41) / 4, y: 1000 + (37 + 38 + 40 + 41) / 4 },
      { x: (43 + 44 + 46 + 47) / 4, y: 1000 + (43 + 44 + 46 + 47) / 4 },
      { x: 30, y: 1030 },
      { x: 54, y: 1054 },
      { x: 59, y: 1059 }
    ])
  })
  it('refuses the wrong number of points', () => {
    expect(() => landmarks68to5(unpackPoints(new Float32Array(10)))).toThrow(/68/)
    expect(() => unpackPoints(new Float32Array(3))).toThrow(/odd/)
  })
})
