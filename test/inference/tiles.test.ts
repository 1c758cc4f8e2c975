// Tiling for small faces in big frames: tile geometry, crops and the merge of overlapping hits.
import { describe, expect, it } from 'vitest'
import { cropRgb, mergeDetections, tileRects } from '../../src/main/inference/tiles'

describe('tileRects', () => {
  it('is the whole image for n = 1', () => {
    expect(tileRects(1920, 1080, 1)).toEqual([{ x: 0, y: 0, w: 1920, h: 1080 }])
  })
  it('covers the image with n×n tiles that overlap their neighbours and stay inside', () => {
    const t = tileRects(1920, 1080, 3, 0.2)
    expect(t).toHaveLength(9)
    expect(t[0]).toEqual({ x: 0, y: 0, w: 768, h: 432 })
    expect(t[4]).toEqual({ x: 512, y: 288, w: 896, h: 504 })
    for (const r of t) {
      expect(r.x).toBeGreaterThanOrEqual(0)
      expect(r.y).toBeGreaterThanOrEqual(0)
      expect(r.x + r.w).toBeLessThanOrEqual(1920)
      expect(r.y + r.h).toBeLessThanOrEqual(1080)
    }
    // every pixel column/row is covered
    expect(Math.max(...t.map((r) => r.x + r.w))).toBe(1920)
    expect(Math.max(...t.map((r) => r.y + r.h))).toBe(1080)
  })
})

describe('cropRgb', () => {
  it('copies the rect row by row', () => {
    const img = { width: 4, height: 3, data: new Uint8Array(36).map((_, i) => i) }
    const c = cropRgb(img, { x: 1, y: 1, w: 2, h: 2 })
    expect([...c.data]).toEqual([15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32])
  })
})

describe('mergeDetections', () => {
  const d = (x: number, y: number, w: number, h: number, score: number) => ({ box: { x, y, w, h }, score })
  it('keeps the best of overlapping hits, drops a face cut by a tile edge, keeps separate faces', () => {
    const whole = d(100, 100, 40, 40, 0.9)
    const sameFromTile = d(102, 101, 40, 40, 0.8)
    const cutHalf = d(100, 100, 20, 40, 0.85)
    const other = d(300, 100, 30, 30, 0.7)
    expect(mergeDetections([sameFromTile, cutHalf, other, whole])).toEqual([whole, other])
  })
})
