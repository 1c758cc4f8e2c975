import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EventLog, startRetention, type TrackEventInput } from '../../src/main/events/events'
import { Gallery } from '../../src/main/gallery/gallery'
import { ReviewQueue } from '../../src/main/review/queue'
import { MediaStore } from '../../src/main/store/media'
import type { ReviewRecord } from '../../src/main/store/repos/review'
import { DEFAULT_SETTINGS } from '../../src/main/store/schema'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { FakeAnalyzer } from '../gallery/fixtures'
import { jpeg, recordingLogger, tempDir, waitFor } from '../store/helpers'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0)

let dir: string
let cleanup: () => Promise<void>
let sql: SqlStore
let media: MediaStore
let log: EventLog
let queue: ReviewQueue

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-retention-'))
  sql = await openSqlStore({ dataDir: dir })
  media = new MediaStore(dir)
  log = new EventLog(sql.events, media, { logger: recordingLogger(), purgeBatch: 2 })
  const gallery = new Gallery(sql.gallery, media, new FakeAnalyzer(), () => DEFAULT_SETTINGS)
  queue = new ReviewQueue(sql.review, media, gallery, log)
})
afterEach(async () => {
  await sql.close()
  await cleanup()
})

async function event(trackId: string, at: number, extra: Partial<TrackEventInput> = {}) {
  const r = await log.upsertTrackEvent({
    cameraId: 'cam-1',
    trackId,
    band: 'review',
    personId: 'p1',
    personName: 'Ada',
    score: 0.4,
    box: { x: 0, y: 0, w: 40, h: 40 },
    at,
    crop: await jpeg(),
    snapshot: await jpeg(1, 2, 3),
    decision: 'pending',
    ...extra
  })
  return r.event
}

function reviewFor(eventId: string, crop: string, snapshot: string, createdAt: number): ReviewRecord {
  return {
    id: `rv-${eventId}`,
    eventId,
    cameraId: 'cam-1',
    trackId: 't',
    createdAt,
    status: 'pending',
    version: 0,
    candidates: [{ personId: 'p1', name: 'Ada', score: 0.4 }],
    personId: 'p1',
    box: { x: 0, y: 0, w: 40, h: 40 },
    crop,
    snapshot,
    cropQuality: { sizePx: 40, detScore: 0.9, blur: 80, yawDeg: 3, pitchDeg: 2, score: 0.6 },
    decidedBy: null,
    decidedAt: null,
    audit: [],
    cropEmbedding: null
  }
}

describe('purge', () => {
  it('removes old events, their review items, rejections and files, and keeps everything recent', async () => {
    const old = await event('old', NOW - 40 * DAY)
    const edge = await event('edge', NOW - 31 * DAY)
    await log.upsertTrackEvent({ ...baseFrame('edge'), at: NOW - 31 * DAY + 1000 })
    // started long ago but still seen recently: kept (retention counts from the last sighting)
    await sql.events.insert({
      ...edge,
      id: 'long',
      trackId: 'long',
      startedAt: NOW - 60 * DAY,
      updatedAt: NOW - DAY,
      crop: null,
      snapshot: null
    })
    const fresh = await event('fresh', NOW - 2 * DAY)
    // review items have their own image copies
    const rvCrop = await media.put('crops', await jpeg(9, 9, 9), NOW - 40 * DAY)
    const rvSnap = await media.put('snapshots', await jpeg(8, 8, 8), NOW - 40 * DAY)
    const rvFreshCrop = await media.put('crops', await jpeg(7, 9, 9), NOW - 2 * DAY)
    await sql.review.insert(reviewFor(old.id, rvCrop, rvSnap, NOW - 40 * DAY))
    await sql.review.insert(reviewFor(fresh.id, rvFreshCrop, fresh.snapshot as string, NOW - 2 * DAY))
    await sql.review.insertRejection({
      cameraId: 'cam-1',
      trackId: 'old',
      personId: 'p1',
      at: NOW - 40 * DAY,
      operator: 'op'
    })
    await sql.review.insertRejection({
      cameraId: 'cam-1',
      trackId: 'fresh',
      personId: 'p1',
      at: NOW - DAY,
      operator: 'op'
    })
    await queue.load()
    expect(queue.isRejected('cam-1', 'old', 'p1')).toBe(true)

    // batches of 2 rows: several statements, the same result
    const r = await log.purge(30, NOW, queue)
    expect(r.events).toBe(2) // old and edge (last seen 31 days ago)
    expect(r.reviews).toBe(1)
    // old crop+snapshot, edge crop+snapshot, review crop+snapshot
    expect(r.files).toBe(6)
    expect((await sql.events.page({}, 0, 100)).map((e) => e.trackId).sort()).toEqual(['fresh', 'long'])
    expect((await sql.review.list()).map((x) => x.eventId)).toEqual([fresh.id])
    expect((await sql.review.rejections()).map((x) => x.trackId)).toEqual(['fresh'])
    expect(queue.isRejected('cam-1', 'old', 'p1')).toBe(false)
    for (const k of [old.crop, old.snapshot, edge.crop, edge.snapshot, rvCrop, rvSnap])
      expect(existsSync(media.path(k as string))).toBe(false)
    for (const k of [rvFreshCrop, fresh.crop, fresh.snapshot]) expect(existsSync(media.path(k as string))).toBe(true)

    // idempotent
    expect(await log.purge(30, NOW, queue)).toEqual({ events: 0, files: 0, reviews: 0 })
  })

  it('sweeps orphaned files and temp leftovers in old day folders, never photos or today', async () => {
    const orphanOld = await media.put('crops', await jpeg(), NOW - 45 * DAY)
    const orphanNew = await media.put('crops', await jpeg(), NOW)
    const photoOld = await media.put('photos', await jpeg(), NOW - 45 * DAY)
    const tmpDir = join(dir, 'media', 'snapshots', '2026-01-01')
    await mkdir(tmpDir, { recursive: true })
    await writeFile(join(tmpDir, 'abc.jpg.tmp'), 'partial')
    const r = await log.purge(30, NOW)
    expect(r.files).toBe(1)
    expect(existsSync(media.path(orphanOld))).toBe(false)
    expect(existsSync(media.path(orphanNew))).toBe(true)
    expect(existsSync(media.path(photoOld))).toBe(true)
    expect(existsSync(tmpDir)).toBe(false)
  })

  it('a purged track id seen again starts a fresh event', async () => {
    const old = await event('t1', NOW - 40 * DAY)
    await log.purge(30, NOW)
    const again = await log.upsertTrackEvent({ ...baseFrame('t1'), at: NOW - 40 * DAY + 100 })
    expect(again.created).toBe(true)
    expect(again.event.id).not.toBe(old.id)
  })

  it('rejects a nonsensical retention', async () => {
    await expect(log.purge(0, NOW)).rejects.toThrow(/positive number of days/)
    await expect(log.purge(Number.NaN, NOW)).rejects.toMatchObject({ code: 'invalid_request' })
  })
})

describe('startRetention', () => {
  it('purges on a timer with the current setting and stops', async () => {
    await event('old', Date.now() - 10 * DAY)
    await event('new', Date.now() - 1 * DAY)
    const results: number[] = []
    const stop = startRetention(log, () => 5, 1000, {
      initialDelayMs: 5,
      onPurged: (r) => results.push(r.events),
      logger: recordingLogger(),
      partner: queue
    })
    await waitFor(() => expect(results).toHaveLength(1))
    stop()
    expect(results[0]).toBe(1)
    expect((await sql.events.page({}, 0, 10)).map((e) => e.trackId)).toEqual(['new'])
    expect(() => startRetention(log, () => 30, 10)).toThrow(/at least 1000 ms/)
  })

  it('logs instead of throwing when the setting is invalid', async () => {
    const logger = recordingLogger()
    const stop = startRetention(log, () => -1, 1000, { initialDelayMs: 5, logger })
    await waitFor(() => expect(logger.lines.join('\n')).toMatch(/error retention: purge failed/))
    stop()
  })
})

function baseFrame(trackId: string): TrackEventInput {
  return {
    cameraId: 'cam-1',
    trackId,
    band: 'review',
    personId: 'p1',
    personName: 'Ada',
    score: 0.3,
    box: { x: 0, y: 0, w: 40, h: 40 },
    at: NOW,
    decision: 'pending'
  }
}
