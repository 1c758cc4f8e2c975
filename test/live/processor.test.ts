// Unit tests of the live processor's decisions with a fake analyser (scripted faces) and a fake
// source (a slot of frames); the matcher is the real in-memory one, events and review are recorders.
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import type { FrameOverlay, Settings } from '../../src/shared/types'
import type { AnalyzeResult, CameraFrame, DetectedFace } from '../../src/main/contracts'
import type { TrackEventInput } from '../../src/main/events/events'
import { Matcher } from '../../src/main/gallery/matcher'
import { LiveProcessor, type LiveOptions } from '../../src/main/live/processor'
import { silentLogger } from '../../src/main/log/logger'
import { near, quality, randomUnit } from '../tracking/helpers'

const W = 64
const H = 48
const image = { data: new Uint8Array(W * H * 3).fill(90), width: W, height: H }
const ann = randomUnit(1)
const stranger = randomUnit(2)
const settings = { thresholds: { accept: 0.5, review: 0.35 } } as Pick<Settings, 'thresholds'>

function face(embedding: Float32Array | null, x = 10): DetectedFace {
  return {
    box: { x, y: 8, w: 20, h: 24 },
    detScore: 0.99,
    landmarks5: [],
    quality: quality(0.9),
    embedding
  }
}

interface Rig {
  live: LiveProcessor
  source: { id: string; takeLatest(): CameraFrame | null }
  push(at: number): void
  upserts: TrackEventInput[]
  enqueued: unknown[]
  overlays: FrameOverlay[]
  settle(): Promise<void>
}

function rig(faces: (at: number) => DetectedFace[] | Error): Rig {
  const matcher = new Matcher()
  matcher.setReferences([{ personId: 'p-ann', name: 'Ann', photoId: 'ph1', embedding: ann, threshold: null }])
  const upserts: TrackEventInput[] = []
  const enqueued: unknown[] = []
  const slot: CameraFrame[] = []
  let seq = 0
  const opts: LiveOptions = {
    analyzer: {
      analyzeRaw: (img) => {
        const r = faces(lastAt)
        if (r instanceof Error) return Promise.reject(r)
        const res: AnalyzeResult = {
          width: img.width,
          height: img.height,
          faces: r,
          timings: {},
          modelMs: 1,
          workerId: 0
        }
        return Promise.resolve(res)
      }
    },
    gallery: { matcher: () => matcher, enrolQualityOk: () => true },
    events: {
      upsertTrackEvent: (e) => {
        upserts.push(e)
        const event = { id: `ev-${e.personId ?? 'unknown'}` } as Awaited<
          ReturnType<LiveOptions['events']['upsertTrackEvent']>
        >['event']
        return Promise.resolve({ event, created: true })
      }
    },
    review: {
      isRejected: () => false,
      enqueue: (item) => {
        enqueued.push(item)
        return Promise.resolve({} as never)
      }
    },
    settings: () => settings as Settings,
    logger: silentLogger
  }
  let lastAt = 0
  const live = new LiveProcessor(opts)
  const overlays: FrameOverlay[] = []
  live.onOverlay((o) => overlays.push(o))
  const source = { id: 'cam-1', takeLatest: () => slot.shift() ?? null }
  return {
    live,
    source,
    upserts,
    enqueued,
    overlays,
    push(at: number) {
      lastAt = at
      slot.splice(0, slot.length, { cameraId: 'cam-1', at, seq: seq++, image, scale: 1 })
      live.frameReady(source)
    },
    async settle() {
      await live.drain()
    }
  }
}

describe('LiveProcessor', () => {
  it('turns a matched face into one event for that person, with an overlay per frame', async () => {
    const r = rig(() => [face(near(ann, 0.95, 1))])
    const t0 = Date.now()
    for (let i = 0; i < 5; i++) {
      r.push(t0 + i * 200)
      await r.settle()
    }
    expect(r.overlays).toHaveLength(5)
    expect(r.overlays.at(-1)?.tracks[0]).toMatchObject({ band: 'match', personId: 'p-ann', name: 'Ann' })
    const people = new Set(r.upserts.map((u) => u.personId))
    expect([...people]).toEqual(['p-ann'])
    expect(r.upserts[0]).toMatchObject({ cameraId: 'cam-1', band: 'match', decision: 'auto' })
    expect(r.enqueued).toEqual([])
    expect(r.live.stats()[0]).toMatchObject({ cameraId: 'cam-1', frames: 5, faces: 5, busyDrops: 0 })
  })

  it('a busy analyser drops the frame and counts it, storing nothing', async () => {
    const r = rig(() => new ApiError('busy', 'queue full'))
    r.push(Date.now())
    await r.settle()
    expect(r.live.stats()[0]).toMatchObject({ frames: 0, busyDrops: 1 })
    expect(r.upserts).toEqual([])
  })

  it('an analyser failure is logged and the next frame is still processed', async () => {
    let fail = true
    const r = rig(() => (fail ? new Error('model crashed') : [face(near(ann, 0.95, 2))]))
    r.push(Date.now())
    await r.settle()
    fail = false
    r.push(Date.now() + 200)
    await r.settle()
    expect(r.live.stats()[0]?.frames).toBe(1)
    expect(r.upserts.length).toBeGreaterThan(0)
  })

  it('an unknown face gets no event while its track is young, and one when the camera stops', async () => {
    const r = rig(() => [face(near(stranger, 0.95, 3))])
    const t0 = Date.now()
    for (let i = 0; i < 3; i++) {
      r.push(t0 + i * 200)
      await r.settle()
    }
    expect(r.upserts).toEqual([])
    r.live.forgetCamera('cam-1')
    await r.settle()
    expect(r.upserts.map((u) => [u.band, u.personId])).toEqual([['unknown', null]])
    expect(r.live.stats()).toEqual([])
  })

  it('a borderline face goes to review once enough embeddings agree', async () => {
    // similarity ≈ 0.42: between review (0.35) and accept (0.5)
    const borderline = near(ann, 0.42, 5)
    const r = rig(() => [face(borderline)])
    const t0 = Date.now()
    for (let i = 0; i < 8; i++) {
      r.push(t0 + i * 300)
      await r.settle()
    }
    expect(r.upserts.some((u) => u.band === 'review' && u.decision === 'pending')).toBe(true)
    expect(r.enqueued.length).toBeGreaterThanOrEqual(1)
  })
})
