import { existsSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import type { EventRecord } from '../../src/shared/types'
import { EventLog, type TrackEventInput } from '../../src/main/events/events'
import { MediaStore } from '../../src/main/store/media'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { jpeg, recordingLogger, tempDir, waitFor } from '../store/helpers'

let dir: string
let cleanup: () => Promise<void>
let sql: SqlStore
const cameraNames = new Map<string, string>()
let media: MediaStore
let log: EventLog

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0)

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-events-'))
  sql = await openSqlStore({ dataDir: dir })
  media = new MediaStore(dir)
  cameraNames.clear()
  log = new EventLog(sql.events, media, { logger: recordingLogger(), cameraName: (id) => cameraNames.get(id) })
})
afterEach(async () => {
  await sql.close()
  await cleanup()
})

function frame(over: Partial<TrackEventInput> = {}): TrackEventInput {
  return {
    cameraId: 'cam-1',
    trackId: 't1',
    band: 'match',
    personId: 'p1',
    personName: 'Ada',
    score: 0.6,
    box: { x: 10, y: 20, w: 50, h: 60 },
    at: T0,
    decision: 'auto',
    ...over
  }
}

/** What the database holds, newest first. */
const onDisk = (): Promise<EventRecord[]> => sql.events.page({}, 0, 1000)

describe('upsertTrackEvent', () => {
  it('keeps one event per (camera, track, person) while the track lives', async () => {
    const first = await log.upsertTrackEvent(frame({ crop: await jpeg(), snapshot: await jpeg(9, 9, 9) }))
    expect(first.created).toBe(true)
    // creation is durable at once
    expect((await onDisk()).map((e) => e.id)).toEqual([first.event.id])
    for (let i = 1; i <= 10; i++) {
      const r = await log.upsertTrackEvent(
        frame({ at: T0 + i * 200, score: 0.6 - i * 0.01, box: { x: i, y: 0, w: 50, h: 60 } })
      )
      expect(r.created).toBe(false)
      expect(r.event.id).toBe(first.event.id)
    }
    const all = (await log.query({})).items
    expect(all).toHaveLength(1)
    expect(all[0]).toMatchObject({ startedAt: T0, updatedAt: T0 + 2000, score: 0.6, box: { x: 10 } })
    // every update is in the database when it resolves
    expect((await onDisk())[0].updatedAt).toBe(T0 + 2000)
  })

  it('a different person, unknown, another camera or a long silence starts a new event', async () => {
    const a = await log.upsertTrackEvent(frame())
    const b = await log.upsertTrackEvent(frame({ personId: 'p2', personName: 'Bob', at: T0 + 100 }))
    const c = await log.upsertTrackEvent(frame({ personId: null, personName: null, band: 'unknown', at: T0 + 200 }))
    const d = await log.upsertTrackEvent(frame({ cameraId: 'cam-2', at: T0 + 300 }))
    const again = await log.upsertTrackEvent(frame({ at: T0 + 400 }))
    // tracker ids restart with the app: t1 an hour later is someone else's track
    const later = await log.upsertTrackEvent(frame({ at: T0 + 3_600_000 }))
    expect([a, b, c, d, again, later].map((r) => r.created)).toEqual([true, true, true, true, false, true])
    expect((await log.query({})).total).toBe(5)
  })

  it('replaces crop, snapshot, box and score only when a frame scores better, and deletes the old files after the write', async () => {
    const r1 = await log.upsertTrackEvent(
      frame({ score: 0.5, crop: await jpeg(1, 1, 1), snapshot: await jpeg(2, 2, 2) })
    )
    const oldCrop = r1.event.crop as string
    const oldSnap = r1.event.snapshot as string
    expect(existsSync(media.path(oldCrop))).toBe(true)

    const worse = await log.upsertTrackEvent(
      frame({
        at: T0 + 200,
        score: 0.4,
        crop: await jpeg(3, 3, 3),
        snapshot: await jpeg(),
        box: { x: 99, y: 0, w: 1, h: 1 }
      })
    )
    expect(worse.event.crop).toBe(oldCrop)
    expect(worse.event.box.x).toBe(10)

    const better = await log.upsertTrackEvent(
      frame({
        at: T0 + 400,
        score: 0.7,
        crop: await jpeg(4, 4, 4),
        snapshot: await jpeg(5, 5, 5),
        box: { x: 77, y: 0, w: 50, h: 60 }
      })
    )
    expect(better.event.crop).not.toBe(oldCrop)
    expect(better.event).toMatchObject({ score: 0.7, box: { x: 77 } })
    await waitFor(() => {
      expect(existsSync(media.path(oldCrop))).toBe(false)
      expect(existsSync(media.path(oldSnap))).toBe(false)
    })
    expect(existsSync(media.path(better.event.crop as string))).toBe(true)
    expect((await onDisk())[0].crop).toBe(better.event.crop)
    // only the live files remain: no copies of the worse frame
    expect((await media.listDay('crops', '2026-11-29')).keys).toEqual([better.event.crop])
  })

  it('serialises concurrent frames of one track: one event, never two', async () => {
    const crop = await jpeg()
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => log.upsertTrackEvent(frame({ at: T0 + i, score: 0.5 + i / 100, crop })))
    )
    expect(rs.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(rs.map((r) => r.event.id)).size).toBe(1)
    expect((await log.query({})).items[0].score).toBeCloseTo(0.57)
  })

  it('links the review item, keeps pending until an operator decides, and never overrides that decision', async () => {
    const r1 = await log.upsertTrackEvent(frame({ band: 'review', score: 0.4 }))
    const r2 = await log.upsertTrackEvent(
      frame({ band: 'review', score: 0.41, at: T0 + 100, reviewItemId: 'rv1', decision: 'pending' })
    )
    expect(r2.event).toMatchObject({ reviewItemId: 'rv1', decision: 'pending' })
    // pending linkage is durable immediately
    expect((await onDisk())[0]).toMatchObject({ reviewItemId: 'rv1', decision: 'pending' })
    const r3 = await log.upsertTrackEvent(frame({ band: 'match', score: 0.55, at: T0 + 200, decision: 'auto' }))
    expect(r3.event).toMatchObject({ decision: 'pending', band: 'match' })

    const decided = await log.update(r1.event.id, { decision: 'reassigned', personId: 'p9', personName: 'Zed' })
    expect(decided).toMatchObject({ decision: 'reassigned', personId: 'p9', personName: 'Zed' })
    expect((await onDisk())[0]).toMatchObject({ decision: 'reassigned', personId: 'p9' })
    // the tracker still reports p1 for this track: same event, decision untouched
    const r4 = await log.upsertTrackEvent(
      frame({ band: 'match', score: 0.9, at: T0 + 300, decision: 'auto', personName: 'Ada' })
    )
    expect(r4.created).toBe(false)
    expect(r4.event).toMatchObject({
      decision: 'reassigned',
      personId: 'p9',
      personName: 'Zed',
      band: 'match',
      score: 0.9
    })
  })

  it('notifies subscribers', async () => {
    const seen: [string, boolean][] = []
    const off = log.subscribe((e, created) => seen.push([e.id, created]))
    const r = await log.upsertTrackEvent(frame())
    await log.upsertTrackEvent(frame({ at: T0 + 1 }))
    off()
    await log.upsertTrackEvent(frame({ at: T0 + 2 }))
    expect(seen).toEqual([
      [r.event.id, true],
      [r.event.id, false]
    ])
  })

  it('rejects bad input with clear errors and stores nothing', async () => {
    const bad: [Partial<TrackEventInput>, RegExp][] = [
      [{ cameraId: '' }, /cameraId/],
      [{ score: Number.NaN }, /score/],
      [{ band: 'maybe' as 'match' }, /band/],
      [{ box: { x: 0, y: 0, w: Number.POSITIVE_INFINITY, h: 1 } }, /box/],
      [{ decision: 'yes' as 'auto' }, /decision/],
      [{ at: -5 }, /at must be/],
      [{ crop: 'abc' as unknown as Buffer }, /crop/]
    ]
    for (const [over, re] of bad) {
      const err = await log.upsertTrackEvent(frame(over)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).code).toBe('invalid_request')
      expect((err as Error).message).toMatch(re)
    }
    // a non-JPEG crop is refused before anything is stored
    const notJpeg = await log.upsertTrackEvent(frame({ crop: Buffer.from('hello') })).catch((e: unknown) => e)
    expect((notJpeg as ApiError).code).toBe('bad_image')
    expect(await sql.events.total()).toBe(0)

    await expect(log.update('nope', { decision: 'confirmed' })).rejects.toMatchObject({ code: 'not_found' })
    const r = await log.upsertTrackEvent(frame())
    await expect(log.update(r.event.id, { decision: 'bogus' as 'auto' })).rejects.toMatchObject({
      code: 'invalid_request'
    })
    expect((await log.get(r.event.id))?.decision).toBe('auto')
  })
})

describe('query, stats and export through the log', () => {
  beforeEach(async () => {
    cameraNames.set('cam-1', 'Lobby, "main"')
    for (let i = 0; i < 120; i++) {
      await log.upsertTrackEvent(
        frame({
          trackId: `t${i}`,
          cameraId: i % 2 ? 'cam-1' : 'cam-2',
          personId: i % 3 ? `p${i % 3}` : null,
          personName: i % 3 ? `Person ${i % 3}` : null,
          band: i % 3 ? 'match' : 'unknown',
          score: (i % 10) / 10,
          at: T0 + i * 60_000
        })
      )
    }
  })

  it('pages newest first with a default limit of 50', async () => {
    const p1 = await log.query({})
    expect(p1).toMatchObject({ total: 120, offset: 0, limit: 50 })
    expect(p1.items[0].trackId).toBe('t119')
    const p3 = await log.query({ offset: 100 })
    expect(p3.items).toHaveLength(20)
    expect(p3.items.at(-1)?.trackId).toBe('t0')
    expect(
      (await log.query({ cameraId: 'cam-1', personId: 'p1', limit: 5 })).items.every(
        (e) => e.cameraId === 'cam-1' && e.personId === 'p1'
      )
    ).toBe(true)
    expect((await log.query({ band: 'unknown' })).total).toBe(40)
    expect((await log.query({ from: T0 + 10 * 60_000, to: T0 + 19 * 60_000 })).total).toBe(10)
    // results are copies: editing them changes nothing stored
    const page = await log.query({})
    page.items[0].personName = 'hacked'
    expect((await log.query({})).items[0].personName).not.toBe('hacked')
    await expect(log.query({ limit: 5000 })).rejects.toThrow(/limit/)
  })

  it('stats per hour per camera', async () => {
    const s = await log.stats({ cameraId: 'cam-1' })
    expect(s.perHour.map((h) => h.count)).toEqual([30, 30])
    expect(s.confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(60)
    expect((await log.stats({})).perHour).toHaveLength(4)
  })

  it('exports every match (not just one page) as CSV with camera names', async () => {
    const csv = await log.exportCsv({ cameraId: 'cam-1' })
    const rows = csv.trimEnd().split('\r\n')
    expect(rows).toHaveLength(61)
    expect(rows[1]).toContain(',"Lobby, ""main""",')
    expect(rows[1]).toMatch(/^[0-9a-f-]{36},2026-11-29T11:59:00.000Z,2026-11-29T11:59:00.000Z,/)
    expect((await log.exportCsv({ limit: 3 })).trimEnd().split('\r\n')).toHaveLength(4)
  })
})
