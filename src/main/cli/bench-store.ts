// `npm run bench:store [-- --db postgres://… --events N --people N --seconds S --purge]`
// The SQL store under a realistic load: fills a temp store with 1 000 000 events over 30 days and
// 10 000 people × 3 photos, reopens it cold (building the matcher), then keeps events arriving the
// way the live pipeline writes them (8 cameras × 5 fps through EventLog.upsertTrackEvent) while
// the console queries history, and measures the event loop with perf_hooks.monitorEventLoopDelay.
// Human-readable lines first; the LAST line is one JSON object:
//   backend      sqlite | postgres
//   events, people  what the store held
//   insertP99Ms  p99 of one event upsert as the live pipeline does it (create or update)
//   maxStallMs   longest event-loop block during the measured phase
//   queryP95Ms   p95 of events.query by person, by camera and by a time range, 50 per page
//   statsMs      events.stats over 7 days (median of 5)
//   openMs       cold open of the database including loading the gallery and building the matcher
//   rssMb        peak resident memory of this process
//   extra: purgeMs / purgeMaxStallMs with --purge (every event made old and purged in batches)
import { rm } from 'node:fs/promises'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { EventRecord, Settings } from '../../shared/types'
import type { AnalyzeResult, Analyzer } from '../contracts'
import { EventLog } from '../events/events'
import { Gallery } from '../gallery/gallery'
import { randomUnit, rng } from '../gallery/synthetic'
import { percentile } from '../inference/metrics'
import { MediaStore } from '../store/media'
import { insertEvents } from '../store/repos/events'
import { embeddingToBlob } from '../store/repos/gallery'
import { DEFAULT_SETTINGS } from '../store/schema'
import { openSqlStore, type SqlStore } from '../store/sql-store'
import { redactDbUrl } from '../store/sql/open'
import { round, runCli, UsageError } from './common'

const USAGE = `usage: npm run bench:store [-- options]
  --db <url>       postgres://… (default: SQLite vigil.db in a temp dir). The PostgreSQL database is
                   filled and its tables dropped at the end: use a database made for the benchmark.
  --events <n>     events to fill (default 1000000)
  --people <n>     people, 3 photos each (default 10000)
  --seconds <s>    measured phase with events arriving (default 20)
  --purge          afterwards purge every event in batches and measure the longest stall`

interface Args {
  db: string | undefined
  events: number
  people: number
  seconds: number
  purge: boolean
}

function parseArgs(argv: string[]): Args {
  const a: Args = { db: undefined, events: 1_000_000, people: 10_000, seconds: 20, purge: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const num = (): number => {
      const v = Number(argv[++i])
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`${arg} needs a positive integer\n${USAGE}`)
      return v
    }
    if (arg === '--db') {
      a.db = argv[++i]
      if (!a.db) throw new UsageError(`--db needs a URL\n${USAGE}`)
    } else if (arg === '--events') a.events = num()
    else if (arg === '--people') a.people = num()
    else if (arg === '--seconds') a.seconds = num()
    else if (arg === '--purge') a.purge = true
    else throw new UsageError(`unknown option ${arg}\n${USAGE}`)
  }
  return a
}

const DAY = 86_400_000
const CAMERAS = 12

/** The gallery never analyses images here. */
const noAnalyzer: Analyzer = {
  analyzeEncoded: (): Promise<AnalyzeResult> => Promise.reject(new Error('not used')),
  analyzeRaw: (): Promise<AnalyzeResult> => Promise.reject(new Error('not used')),
  workers: () => [],
  queueDepth: () => 0,
  close: async () => {}
}

function syntheticEvent(i: number, now: number, total: number, people: number, r: () => number): EventRecord {
  // spread evenly over the last 30 days, oldest first
  const startedAt = now - 30 * DAY + Math.floor((i / total) * 30 * DAY)
  const known = r() < 0.6
  const p = Math.floor(r() * people)
  return {
    id: `b-${i.toString(36).padStart(6, '0')}`,
    cameraId: `cam-${i % CAMERAS}`,
    trackId: `t${i}`,
    band: known ? 'match' : r() < 0.5 ? 'review' : 'unknown',
    personId: known ? `person-${p}` : null,
    personName: known ? `Person ${p}` : null,
    score: r(),
    decision: 'auto',
    startedAt,
    updatedAt: startedAt + Math.floor(r() * 20_000),
    box: { x: 100, y: 100, w: 80, h: 90 },
    crop: null,
    snapshot: null,
    reviewItemId: null
  }
}

async function fill(sql: SqlStore, a: Args, now: number): Promise<void> {
  const r = rng(7)
  const t0 = performance.now()
  const chunk = 10_000
  for (let i = 0; i < a.events; i += chunk) {
    const part: EventRecord[] = []
    for (let j = i; j < Math.min(a.events, i + chunk); j++) part.push(syntheticEvent(j, now, a.events, a.people, r))
    await sql.db.transaction((tx) => insertEvents(tx, part, 100))
    if ((i / chunk) % 20 === 0) process.stdout.write(`  filled ${i + part.length} events\r`)
  }
  console.log(`filled ${a.events} events in ${round((performance.now() - t0) / 1000, 1)} s`)
  const t1 = performance.now()
  for (let p = 0; p < a.people; p += 500) {
    await sql.db.transaction(async (tx) => {
      for (let k = p; k < Math.min(a.people, p + 500); k++) {
        await tx.run(
          'INSERT INTO people (id, name, name_key, notes, threshold, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [`person-${k}`, `Person ${k}`, `person ${k}`, '', null, now, now]
        )
        for (let ph = 0; ph < 3; ph++) {
          await tx.run(
            'INSERT INTO photos (id, person_id, media, added_at, source, quality, embedding) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [
              `photo-${k}-${ph}`,
              `person-${k}`,
              `photos/bench/${k}-${ph}.jpg`,
              now + ph,
              'upload',
              '{"sizePx":120,"detScore":0.99,"blur":200,"yawDeg":0,"pitchDeg":0,"score":0.9}',
              embeddingToBlob(randomUnit(r))
            ]
          )
        }
      }
    })
  }
  console.log(`filled ${a.people} people × 3 photos in ${round((performance.now() - t1) / 1000, 1)} s`)
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2))
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-store-'))
  const now = Date.now()
  let peakRss = 0
  const sampleRss = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
  const rssTimer = setInterval(sampleRss, 200)
  rssTimer.unref()
  try {
    console.log(`store: ${a.db ? redactDbUrl(a.db) : join(dir, 'vigil.db')}`)
    const first = await openSqlStore({ dataDir: dir, url: a.db })
    const backend = first.db.engine
    if ((await first.events.total()) > 0)
      throw new UsageError('the database is not empty; use one made for the benchmark')
    await fill(first, a, now)
    await first.close()

    // cold open: the database, then the gallery into memory and the matcher built from it
    const settings: Settings = structuredClone(DEFAULT_SETTINGS)
    const tOpen = performance.now()
    const sql = await openSqlStore({ dataDir: dir, url: a.db })
    const dbMs = performance.now() - tOpen
    const gallery = new Gallery(sql.gallery, new MediaStore(dir), noAnalyzer, () => settings)
    await gallery.load()
    const openMs = performance.now() - tOpen
    console.log(
      `cold open with ${gallery.matcher().size} references in the matcher: ${round(openMs, 0)} ms (database ${round(dbMs, 0)} ms, gallery + matcher ${round(openMs - dbMs, 0)} ms)`
    )
    const log = new EventLog(sql.events, new MediaStore(dir))
    await log.init()

    // measured phase: 8 cameras × 5 fps of live upserts while the console queries
    const delay = monitorEventLoopDelay({ resolution: 5 })
    delay.enable()
    const inserts: number[] = []
    const queries: number[] = []
    const statsRuns: number[] = []
    let stop = false
    const live = (async () => {
      let frame = 0
      while (!stop) {
        const at = Date.now()
        await Promise.all(
          Array.from({ length: 8 }, async (_, cam) => {
            // each camera has 3 tracks; a track lives ~10 s then a new one starts
            for (let t = 0; t < 3; t++) {
              const t0 = performance.now()
              await log.upsertTrackEvent({
                cameraId: `live-${cam}`,
                trackId: `lt${t}-${Math.floor(frame / 50)}`,
                band: 'match',
                personId: `person-${(cam * 3 + t) % a.people}`,
                personName: 'Live',
                score: 0.5 + (frame % 10) / 100,
                box: { x: 10, y: 10, w: 80, h: 90 },
                at,
                decision: 'auto'
              })
              inserts.push(performance.now() - t0)
            }
          })
        )
        frame++
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    const r = rng(11)
    const tEnd = performance.now() + a.seconds * 1000
    while (performance.now() < tEnd) {
      const kinds = [
        { personId: `person-${Math.floor(r() * a.people)}` },
        { cameraId: `cam-${Math.floor(r() * CAMERAS)}` },
        { from: now - Math.floor(r() * 29 * DAY) - DAY, to: now - Math.floor(r() * 1 * DAY) }
      ]
      for (const q of kinds) {
        const t0 = performance.now()
        await log.query({ ...q, limit: 50 })
        queries.push(performance.now() - t0)
      }
      if (statsRuns.length < 5) {
        const t0 = performance.now()
        await log.stats({ from: now - 7 * DAY, to: now })
        statsRuns.push(performance.now() - t0)
      }
      await new Promise((res) => setTimeout(res, 50))
    }
    stop = true
    await live
    delay.disable()
    sampleRss()
    const maxStallMs = delay.max / 1e6
    const result: Record<string, number | string> = {
      backend,
      events: await sql.events.total(),
      people: gallery.count,
      insertP99Ms: round(percentile(inserts, 99), 3),
      maxStallMs: round(maxStallMs, 1),
      queryP95Ms: round(percentile(queries, 95), 2),
      statsMs: round(percentile(statsRuns, 50), 1),
      openMs: round(openMs, 0),
      rssMb: round(peakRss / 1048576, 0)
    }
    console.log(
      `measured ${a.seconds} s: ${inserts.length} live upserts (p50 ${round(percentile(inserts, 50), 3)} ms), ${queries.length} queries (p50 ${round(percentile(queries, 50), 2)} ms), ${statsRuns.length} stats runs`
    )

    if (a.purge) {
      const purgeDelay = monitorEventLoopDelay({ resolution: 5 })
      purgeDelay.enable()
      const t0 = performance.now()
      // every event is older than a 1-day retention seen from 40 days ahead
      const p = await log.purge(1, now + 40 * DAY)
      purgeDelay.disable()
      result.purgeMs = round(performance.now() - t0, 0)
      result.purgeEvents = p.events
      result.purgeMaxStallMs = round(purgeDelay.max / 1e6, 1)
      console.log(`purged ${p.events} events in ${result.purgeMs} ms, longest stall ${result.purgeMaxStallMs} ms`)
    }
    if (backend === 'postgres') {
      for (const t of [
        'events',
        'photos',
        'people',
        'review_audit',
        'review_items',
        'rejections',
        'legacy_imports',
        'schema_migrations'
      ])
        await sql.db.run(`DROP TABLE IF EXISTS ${t}`)
    }
    await sql.close()
    console.log(JSON.stringify(result))
  } finally {
    clearInterval(rssTimer)
    await rm(dir, { recursive: true, force: true })
  }
}

runCli(main)
