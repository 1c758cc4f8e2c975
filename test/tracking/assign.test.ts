import { describe, expect, it } from 'vitest'
import { assignMinCost, centreDistance, cosine, iou } from '../../src/main/tracking/assign'

function brute(cost: number[][], maxCost: number): { count: number; total: number } {
  const rows = cost.length
  const cols = cost[0]!.length
  let best = { count: -1, total: Infinity }
  const used = new Array<boolean>(cols).fill(false)
  const rec = (r: number, count: number, total: number): void => {
    if (r === rows) {
      if (count > best.count || (count === best.count && total < best.total - 1e-9)) best = { count, total }
      return
    }
    rec(r + 1, count, total) // row unassigned
    for (let c = 0; c < cols; c++) {
      const v = cost[r]![c]!
      if (used[c] || !Number.isFinite(v) || v > maxCost) continue
      used[c] = true
      rec(r + 1, count + 1, total + v)
      used[c] = false
    }
  }
  rec(0, 0, 0)
  return best
}

describe('geometry', () => {
  it('iou', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1)
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 10)
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 20, w: 5, h: 5 })).toBe(0)
    expect(iou({ x: 0, y: 0, w: 0, h: 0 }, { x: 0, y: 0, w: 0, h: 0 })).toBe(0)
  })
  it('cosine and centre distance', () => {
    expect(cosine(Float32Array.of(1, 0), Float32Array.of(2, 0))).toBeCloseTo(1, 6)
    expect(cosine(Float32Array.of(1, 0), Float32Array.of(0, 3))).toBeCloseTo(0, 6)
    expect(cosine(Float32Array.of(0, 0), Float32Array.of(1, 0))).toBe(0)
    expect(() => cosine(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(/mismatch/)
    expect(centreDistance({ x: 0, y: 0, w: 3, h: 4 }, { x: 5, y: 0, w: 3, h: 4 })).toBeCloseTo(1, 10)
  })
})

describe('assignMinCost', () => {
  it('finds the optimum where greedy fails', () => {
    // greedy takes (0,0)=1 then must take (1,1)=10 → 11; optimum (0,1)+(1,0) = 2+2 = 4
    expect(
      assignMinCost([
        [1, 2],
        [2, 10]
      ])
    ).toEqual([
      [0, 1],
      [1, 0]
    ])
  })

  it('handles rectangular matrices, forbidden pairs and maxCost', () => {
    expect(assignMinCost([[0.2, 0.9, 0.1]])).toEqual([[0, 2]])
    expect(assignMinCost([[0.2], [0.1], [0.5]])).toEqual([[1, 0]])
    expect(
      assignMinCost([
        [Infinity, 0.5],
        [0.3, Infinity]
      ])
    ).toEqual([
      [0, 1],
      [1, 0]
    ])
    expect(assignMinCost([[Infinity, Infinity]])).toEqual([])
    expect(assignMinCost([[0.9, 0.95]], 0.8)).toEqual([])
    expect(assignMinCost([])).toEqual([])
    expect(assignMinCost([[]])).toEqual([])
    expect(() => assignMinCost([[1, 2], [1]])).toThrow(/differ/)
  })

  it('matches brute force on random gated matrices (most pairs, then least cost)', () => {
    let seed = 7
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + Math.floor(rnd() * 5)
      const cols = 1 + Math.floor(rnd() * 5)
      const cost = Array.from({ length: rows }, () =>
        Array.from({ length: cols }, () => (rnd() < 0.3 ? Infinity : rnd()))
      )
      const got = assignMinCost(cost)
      const want = brute(cost, Infinity)
      expect(new Set(got.map((p) => p[0])).size).toBe(got.length)
      expect(new Set(got.map((p) => p[1])).size).toBe(got.length)
      expect(got.length).toBe(want.count)
      expect(got.reduce((s, [r, c]) => s + cost[r]![c]!, 0)).toBeCloseTo(want.total, 9)
    }
  })
})
