import { describe, expect, it } from 'vitest'
import {
  addToGroup,
  centroid,
  clusterOnline,
  mergeGroups,
  nearestGroup,
  newGroup,
  scoreClustering,
  similarityToGroup
} from '../../src/main/memory/cluster'
import { effectiveThresholds, gallerySizeCovered, normalQuantile, openSetFloor } from '../../src/main/gallery/open-set'
import { near, randomUnit } from '../tracking/helpers'

describe('stranger clustering', () => {
  it('joins a face to the nearest group above joinAt, else starts a new group', () => {
    const a = randomUnit(1)
    const g = newGroup(a)
    expect(g.count).toBe(1)
    expect(nearestGroup(near(a, 0.6, 2), [g], { joinAt: 0.42 })).toMatchObject({ index: 0 })
    expect(nearestGroup(randomUnit(3), [g], { joinAt: 0.42 }).index).toBe(-1)
    expect(nearestGroup(a, [], { joinAt: 0.42 }).index).toBe(-1)
  })

  it('the centroid is the quality-weighted direction of the members', () => {
    const x = Float32Array.of(1, 0)
    const y = Float32Array.of(0, 1)
    const g = addToGroup(newGroup(x, 1), y, 3)
    const c = centroid(g)!
    expect(c[1]! / c[0]!).toBeCloseTo(3, 5)
    expect(similarityToGroup(y, g)).toBeCloseTo(3 / Math.sqrt(10), 5)
    expect(mergeGroups(g, newGroup(x)).count).toBe(3)
    expect(() => addToGroup(g, Float32Array.of(0, 0))).toThrow(/zero/)
    expect(() => similarityToGroup(Float32Array.of(1, 0, 0), g)).toThrow(/mismatch/)
  })

  it('clusters noisy views of three people into three groups, in any arrival order', () => {
    const people = [randomUnit(10), randomUnit(11), randomUnit(12)]
    const faces = Array.from({ length: 30 }, (_, i) => ({ embedding: near(people[i % 3]!, 0.75, 100 + i), who: i % 3 }))
    const labels = clusterOnline(faces, { joinAt: 0.42 })
    const s = scoreClustering(
      labels,
      faces.map((f) => f.who)
    )
    expect(s.bcubedF).toBe(1)
  })
})

describe('scoreClustering', () => {
  it('scores a perfect, an over-split and an over-merged clustering', () => {
    const truth = ['a', 'a', 'b', 'b']
    expect(scoreClustering([1, 1, 2, 2], truth)).toMatchObject({ pairwisePrecision: 1, pairwiseRecall: 1, bcubedF: 1 })
    const split = scoreClustering([1, 2, 3, 4], truth)
    expect(split).toMatchObject({ pairwisePrecision: 1, pairwiseRecall: 0, bcubedPrecision: 1, bcubedRecall: 0.5 })
    const merged = scoreClustering([1, 1, 1, 1], truth)
    expect(merged.pairwisePrecision).toBeCloseTo(2 / 6, 10)
    expect(merged.pairwiseRecall).toBe(1)
    expect(merged.bcubedPrecision).toBe(0.5)
    expect(merged.bcubedF).toBeCloseTo(2 / 3, 10)
    expect(() => scoreClustering([1], truth)).toThrow(/1 predictions for 4/)
  })
})

describe('open-set thresholds', () => {
  it('normalQuantile inverts the normal CDF', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 8)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    expect(normalQuantile(1 - 1e-3)).toBeCloseTo(3.090232, 5)
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424, 4)
    expect(() => normalQuantile(1)).toThrow(RangeError)
  })

  it('the accept floor rises with the gallery so a stranger stays at the target chance', () => {
    const m = { mean: 0, sd: 0.1, target: 1e-3 }
    expect(openSetFloor(1, m)).toBeCloseTo(0.309, 3)
    expect(openSetFloor(1000, m)).toBeCloseTo(0.4753, 3)
    expect(openSetFloor(10, m)).toBeLessThan(openSetFloor(100, m))
    const small = effectiveThresholds({ accept: 0.4, review: 0.3 }, 5, m)
    expect(small).toEqual({ accept: 0.4, review: 0.3 })
    const big = effectiveThresholds({ accept: 0.4, review: 0.3 }, 1000, m)
    expect(big.accept).toBeCloseTo(0.4753, 3)
    expect(big.review).toBe(0.3)
    expect(
      effectiveThresholds({ accept: 0.2, review: 0.3 }, 1e6, { mean: 0, sd: 0.01, target: 0.5 }).review
    ).toBeLessThanOrEqual(0.3)
  })

  it('says how large a gallery the configured accept threshold covers', () => {
    const m = { mean: 0, sd: 0.1, target: 1e-3 }
    const n = gallerySizeCovered(0.4, m)
    expect(openSetFloor(n, m)).toBeLessThanOrEqual(0.4)
    expect(openSetFloor(n + 1, m)).toBeGreaterThan(0.4)
    expect(gallerySizeCovered(0.1, m)).toBe(0)
  })
})
