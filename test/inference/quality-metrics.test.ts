import { describe, expect, it } from 'vitest'
import {
  accuracyOf,
  bestThreshold,
  confusionAt,
  dPrime,
  f1Of,
  nearestNeighbourAccuracy,
  percentile,
  rocAuc,
  thresholdForFalseAcceptRate,
  thresholdForTrueAcceptRate
} from '../../src/main/inference/metrics'
import { aggregateQuality, estimateYawPitch, laplacianVariance } from '../../src/main/inference/quality'
import { ARCFACE_REF_112 } from '../../src/main/inference/align'

describe('metrics', () => {
  it('ROC AUC: perfect, inverted, and ties count one half', () => {
    expect(rocAuc([0.9, 0.8], [0.1, 0.2])).toBe(1)
    expect(rocAuc([0.1], [0.9])).toBe(0)
    expect(rocAuc([0.5], [0.5])).toBe(0.5)
    // 2 genuine × 2 impostor: wins 0.7>0.6, 0.7>0.2, 0.4>0.2; loses 0.4<0.6 → 3/4
    expect(rocAuc([0.7, 0.4], [0.6, 0.2])).toBe(0.75)
  })
  it('missing-face pairs (±Infinity) always rank wrong', () => {
    expect(rocAuc([-Infinity, 0.9], [0.1])).toBe(0.5)
    expect(rocAuc([0.9], [Infinity, 0.1])).toBe(0.5)
  })
  it('best threshold maximises accuracy and sits between samples', () => {
    const b = bestThreshold([0.9, 0.8, 0.55], [0.1, 0.3, 0.6])
    // ≥0.8 → 2 tp, 0 fp: 5/6; ≥0.55 → 3 tp, 1 fp: 5/6; tie keeps the higher threshold
    expect(b.accuracy).toBeCloseTo(5 / 6, 9)
    expect(b.threshold).toBeCloseTo(0.7, 9)
    expect(b.tp).toBe(2)
    expect(b.fp).toBe(0)
    const perfect = bestThreshold([0.9, 0.7], [0.2, 0.5])
    expect(perfect.accuracy).toBe(1)
    expect(perfect.threshold).toBeCloseTo(0.6, 9)
  })
  it('best threshold counts infinite (no-face) pairs as errors at every threshold', () => {
    const b = bestThreshold([0.9, -Infinity], [0.1, Infinity])
    expect(b.accuracy).toBe(0.5)
    expect(Number.isFinite(b.threshold)).toBe(true)
  })
  it('confusion, accuracy and F1', () => {
    const c = confusionAt([0.9, 0.4], [0.6, 0.1], 0.5)
    expect(c).toEqual({ tp: 1, fn: 1, fp: 1, tn: 1 })
    expect(accuracyOf(c)).toBe(0.5)
    expect(f1Of(c)).toBe(0.5)
    expect(f1Of({ tp: 0, fp: 0, tn: 3, fn: 0 })).toBe(0)
  })
  it('percentiles interpolate and ignore infinities', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3)
    expect(percentile([0, 10], 25)).toBe(2.5)
    expect(percentile([1, Infinity, 3], 100)).toBe(3)
    expect(Number.isNaN(percentile([], 50))).toBe(true)
  })
  it('suggested thresholds', () => {
    const impostor = [0.1, 0.2, 0.31]
    expect(thresholdForFalseAcceptRate(impostor, 0)).toBeCloseTo(0.315, 9)
    const genuine = Array.from({ length: 100 }, (_, i) => 0.3 + i * 0.005)
    // 99 % of 100 = 99 pairs: the 99th highest is 0.305
    expect(thresholdForTrueAcceptRate(genuine, 0.99)).toBeCloseTo(0.305, 9)
  })
  it('leave-one-out nearest neighbour, a missing face is a miss', () => {
    const v = (x: number, y: number): Float32Array => new Float32Array([x, y])
    expect(nearestNeighbourAccuracy([v(1, 0), v(0.99, 0.1), v(0, 1), v(0.1, 0.99)], ['a', 'a', 'b', 'b'])).toBe(1)
    expect(nearestNeighbourAccuracy([v(1, 0), v(0.99, 0.1), null, v(0.1, 0.99)], ['a', 'a', 'b', 'b'])).toBe(0.5)
  })
  it('d′ grows with separation', () => {
    expect(dPrime([0.8, 0.9], [0.1, 0.2])).toBeGreaterThan(dPrime([0.5, 0.6], [0.1, 0.2]))
  })
})

describe('quality', () => {
  const grey = (w: number, h: number, f: (x: number, y: number) => number) => {
    const data = new Uint8Array(w * h)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y)
    return { data, width: w, height: h }
  }
  it('Laplacian variance: zero on flat, high on sharp texture, lower once smoothed', () => {
    expect(laplacianVariance(grey(20, 20, () => 128))).toBe(0)
    const sharp = laplacianVariance(grey(20, 20, (x, y) => ((x + y) % 2 ? 200 : 50)))
    const soft = laplacianVariance(grey(20, 20, (x) => 128 + 60 * Math.sin(x / 3)))
    expect(sharp).toBeGreaterThan(1000)
    expect(soft).toBeLessThan(sharp / 10)
  })
  it('the reference landmarks are a frontal face', () => {
    const p = estimateYawPitch(ARCFACE_REF_112)
    expect(Math.abs(p.yawDeg)).toBeLessThan(1)
    expect(Math.abs(p.pitchDeg)).toBeLessThan(1)
    expect(Math.abs(p.rollDeg)).toBeLessThan(1)
  })
  it('a nose shifted to image left reads as positive yaw (fr_pose convention), up as pitch, and roll does not leak into either', () => {
    const ref = ARCFACE_REF_112.map((q) => ({ ...q }))
    const turned = ref.map((q, i) => (i === 2 ? { x: q.x - 10, y: q.y } : q))
    expect(estimateYawPitch(turned).yawDeg).toBeGreaterThan(15)
    const up = ref.map((q, i) => (i === 2 ? { x: q.x, y: q.y - 8 } : q))
    expect(estimateYawPitch(up).pitchDeg).toBeGreaterThan(10)
    // Rotate the turned face by 30°: yaw must stay the same.
    const c = Math.cos(0.52)
    const s = Math.sin(0.52)
    const rolled = turned.map((q) => ({ x: c * q.x - s * q.y, y: s * q.x + c * q.y }))
    const r = estimateYawPitch(rolled)
    expect(r.yawDeg).toBeCloseTo(estimateYawPitch(turned).yawDeg, 6)
    expect(r.rollDeg).toBeCloseTo(estimateYawPitch(turned).rollDeg + (0.52 * 180) / Math.PI, 6)
  })
  it('aggregate score: 1 for a big sharp frontal face, lower for each defect, 0 below minimum size', () => {
    const good = { sizePx: 120, detScore: 0.99, blur: 300, yawDeg: 0, pitchDeg: 0 }
    expect(aggregateQuality(good)).toBe(1)
    for (const bad of [{ sizePx: 30 }, { detScore: 0.7 }, { blur: 40 }, { yawDeg: 45 }, { pitchDeg: -35 }]) {
      const q = aggregateQuality({ ...good, ...bad })
      expect(q).toBeGreaterThan(0)
      expect(q).toBeLessThan(1)
    }
    expect(aggregateQuality({ ...good, sizePx: 10 })).toBe(0)
    expect(aggregateQuality({ ...good, yawDeg: -80 })).toBe(0)
  })
})
