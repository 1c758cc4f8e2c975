// Differential test of the two engines through the real repositories: the same history of live
// upserts, operator decisions and retention, applied to a SQLite store and to a PostgreSQL store,
// must answer every query, stats call and CSV export identically. Nothing above src/main/store may
// be able to tell which engine runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventQuery, EventRecord } from '../../src/shared/types'
import { EventLog, type TrackEventInput } from '../../src/main/events/events'
import { MediaStore } from '../../src/main/store/media'
import { openSqlStore, type SqlStore } from '../../src/main/store/sql-store'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'
import { tempDir } from './helpers'

const skip = skipWithoutPostgres('SQLite and PostgreSQL agree')

const DAY = 86_400_000
const NOW = 1_767_225_600_000 // fixed clock: 2026-01-01T00:00Z

/** Small deterministic generator, so both engines get the very same inputs on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** Frames of tracks: several frames per track (updates of one event), unique start times. */
function history(): TrackEventInput[] {
  const r = lcg(42)
  const out: TrackEventInput[] = []
  for (let t = 0; t < 240; t++) {
    const cam = `cam-${t % 4}`
    const person = r() < 0.2 ? null : `person-${Math.floor(r() * 9)}`
    const score = person === null ? 0.1 + r() * 0.15 : 0.3 + r() * 0.6
    const band = score >= 0.4 ? 'match' : score >= 0.3 ? 'review' : 'unknown'
    // spread over 10 days; +t ms keeps every start time distinct (page order has no ties)
    const start = NOW - Math.floor(r() * 10 * DAY) + t
    const frames = 1 + Math.floor(r() * 4)
    for (let f = 0; f < frames; f++) {
      out.push({
        cameraId: cam,
        trackId: `tr-${t}`,
        band,
        personId: person,
        personName: person === null ? null : `Name ${person}`,
        score: Math.min(0.99, score + f * 0.01),
        box: { x: 10 + f, y: 20, w: 80, h: 96 },
        at: start + f * 1000,
        decision: 'auto'
      })
    }
  }
  return out
}

/** An event without what is random per engine (its id). */
const comparable = (e: EventRecord): Omit<EventRecord, 'id'> => {
  const { id: _id, ...rest } = e
  void _id
  return rest
}

const stripIds = (csv: string): string =>
  csv
    .split('\n')
    .map((line) => line.replace(/^[^,]*,/, ''))
    .join('\n')

describe.skipIf(skip)('SQLite and PostgreSQL agree', () => {
  let server: PgServer
  let cleanup: () => Promise<void>
  const stores: SqlStore[] = []
  const logs: { name: string; log: EventLog }[] = []

  beforeAll(async () => {
    server = await startPostgres()
    const t = await tempDir('vigil-agree-')
    cleanup = t.cleanup
    const lite = await openSqlStore({ dataDir: t.dir })
    const pg = await openSqlStore({ dataDir: t.dir, url: server.url })
    stores.push(lite, pg)
    for (const [name, s] of [
      ['sqlite', lite],
      ['postgres', pg]
    ] as const) {
      const log = new EventLog(s.events, new MediaStore(t.dir), { cameraName: (id) => `Camera ${id}` })
      await log.init(NOW)
      logs.push({ name, log })
    }
    for (const frame of history()) for (const { log } of logs) await log.upsertTrackEvent(frame)
  }, 120_000)
  afterAll(async () => {
    for (const s of stores) await s.close()
    await server?.stop()
    await cleanup?.()
  })

  const both = async <T>(fn: (log: EventLog) => Promise<T>): Promise<[T, T]> => {
    const [a, b] = logs
    return [await fn(a.log), await fn(b.log)]
  }

  it('pages of every filter are identical', async () => {
    const queries: EventQuery[] = [
      {},
      { offset: 50 },
      { personId: 'person-3' },
      { cameraId: 'cam-2', limit: 20 },
      { band: 'review' },
      { decision: 'auto', offset: 10, limit: 5 },
      { from: NOW - 3 * DAY, to: NOW - DAY },
      { personId: 'person-1', from: NOW - 5 * DAY },
      { cameraId: 'cam-0', to: NOW - 7 * DAY }
    ]
    for (const q of queries) {
      const [lite, pg] = await both((log) => log.query(q))
      expect(pg.total, JSON.stringify(q)).toBe(lite.total)
      expect(pg.items.map(comparable), JSON.stringify(q)).toEqual(lite.items.map(comparable))
    }
    const [all] = await both((log) => log.query({ limit: 1000 }))
    expect(all.total).toBe(240)
  })

  it('stats and the CSV export are identical', async () => {
    for (const q of [
      { from: NOW - 7 * DAY, to: NOW },
      { personId: 'person-2' },
      { cameraId: 'cam-1', from: NOW - 9 * DAY }
    ]) {
      const [lite, pg] = await both((log) => log.stats(q))
      expect(pg, JSON.stringify(q)).toEqual(lite)
    }
    const [lite, pg] = await both((log) => log.exportCsv({}))
    expect(stripIds(pg)).toEqual(stripIds(lite))
    expect(lite.split('\n').length).toBeGreaterThan(240)
  })

  it('operator decisions and retention leave the same history', async () => {
    // the same events decided on both: found by their track, not by their per-engine id
    const [lite, pg] = await both((log) => log.query({ band: 'review', limit: 1000 }))
    const byTrack = (items: EventRecord[]): Map<string, EventRecord> =>
      new Map(items.map((e) => [`${e.cameraId}/${e.trackId}`, e]))
    const pgByTrack = byTrack(pg.items)
    for (const [i, e] of lite.items.entries()) {
      const patch =
        i % 2 ? { decision: 'confirmed' as const } : { decision: 'rejected' as const, personId: null, personName: null }
      await logs[0].log.update(e.id, patch)
      await logs[1].log.update(pgByTrack.get(`${e.cameraId}/${e.trackId}`)!.id, patch)
    }
    const [pLite, pPg] = await both((log) => log.purge(4, NOW))
    expect(pPg.events).toBe(pLite.events)
    expect(pLite.events).toBeGreaterThan(0)
    const [aLite, aPg] = await both((log) => log.query({ limit: 1000 }))
    expect(aPg.total).toBe(aLite.total)
    expect(aPg.items.map(comparable)).toEqual(aLite.items.map(comparable))
    const [sLite, sPg] = await both((log) => log.stats({ from: NOW - 7 * DAY, to: NOW }))
    expect(sPg).toEqual(sLite)
  })
})
