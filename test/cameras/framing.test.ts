import { describe, expect, it } from 'vitest'
import { backoffDelay, JpegSplitter, RateMeter, RawFrameAssembler } from '../../src/main/cameras/framing'
import { displaySize } from '../../src/main/cameras/source'

function fakeJpeg(n: number, body: number[]): Buffer {
  // SOI, a stuffed 0xFF 0x00 in the body, EOI
  return Buffer.from([0xff, 0xd8, n, 0xff, 0x00, ...body, 0xff, 0xd9])
}

describe('JpegSplitter', () => {
  it('splits back-to-back JPEGs whatever the chunking', () => {
    const imgs = [fakeJpeg(1, [1, 2, 3]), fakeJpeg(2, [0xff, 0x00, 9]), fakeJpeg(3, [])]
    const stream = Buffer.concat([Buffer.from([0x00, 0x13]), ...imgs])
    for (const step of [1, 2, 3, 5, stream.length]) {
      const s = new JpegSplitter()
      const out: Buffer[] = []
      for (let i = 0; i < stream.length; i += step) out.push(...s.push(stream.subarray(i, i + step)))
      expect(out.map((b) => [...b])).toEqual(imgs.map((b) => [...b]))
      expect(s.discardedBytes).toBe(2)
    }
  })

  it('drops an image that never ends instead of growing without bound', () => {
    const s = new JpegSplitter(100)
    s.push(Buffer.from([0xff, 0xd8]))
    s.push(Buffer.alloc(200, 1))
    expect(s.discardedBytes).toBeGreaterThan(100)
    expect(s.push(fakeJpeg(7, [])).length).toBe(1)
  })
})

describe('RawFrameAssembler', () => {
  it('holds bytes until the size is known, then cuts exact frames', () => {
    const a = new RawFrameAssembler()
    const bytes = Buffer.from(Array.from({ length: 30 }, (_, i) => i))
    expect(a.push(bytes.subarray(0, 7))).toEqual([])
    const early = a.setFrameBytes(12)
    expect(early).toEqual([])
    const frames = [...a.push(bytes.subarray(7, 20)), ...a.push(bytes.subarray(20, 30))]
    expect(frames.map((f) => [...f])).toEqual([[...bytes.subarray(0, 12)], [...bytes.subarray(12, 24)]])
  })

  it('refuses to buffer forever without a size', () => {
    const a = new RawFrameAssembler(10)
    expect(() => a.push(Buffer.alloc(11))).toThrow(/frame size unknown/)
    expect(() => a.setFrameBytes(0)).toThrow()
  })
})

describe('RateMeter', () => {
  it('measures a steady rate, early and after the window fills, and decays after a stall', () => {
    const m = new RateMeter(5000)
    for (let t = 0; t <= 2000; t += 200) m.add(t)
    expect(m.rate(2000)).toBeCloseTo(5, 5)
    for (let t = 2200; t <= 10_000; t += 200) m.add(t)
    expect(m.rate(10_000)).toBeCloseTo(5, 5)
    expect(m.rate(12_500)).toBeCloseTo(2.6, 5) // 13 frames in (7.5 s, 12.5 s]
    expect(m.rate(15_001)).toBe(0)
  })
})

describe('backoffDelay', () => {
  it('doubles from 1 s and caps at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffDelay(n))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000
    ])
    expect(backoffDelay(3, { initialMs: 250, maxMs: 1500 })).toBe(1000)
    expect(backoffDelay(4, { initialMs: 250, maxMs: 1500 })).toBe(1500)
    expect(backoffDelay(0)).toBe(1000)
  })
})

describe('displaySize', () => {
  it('maps detection frames back to the displayed source size', () => {
    expect(displaySize({ width: 1920, height: 1080 }, 0, { width: 640, height: 360 })).toEqual({
      width: 1920,
      height: 1080
    })
    expect(displaySize({ width: 1920, height: 1080 }, -90, { width: 360, height: 640 })).toEqual({
      width: 1080,
      height: 1920
    })
    expect(displaySize({ width: 1920, height: 1080 }, 0, { width: 360, height: 640 })).toEqual({
      width: 1080,
      height: 1920
    })
    expect(displaySize(null, 0, { width: 640, height: 360 })).toEqual({ width: 640, height: 360 })
  })
})
