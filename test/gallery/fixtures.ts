// Real SQL store (SQLite file) + MediaStore in a temp dir, a scriptable Analyzer, and helpers to
// compare "everything stored" before and after an operation. Shared by test/gallery and test/review.
// Disk-full is injected at the SQL seam: every write statement fails while `failWrites` says so.
import { recordingLogger } from '../support/logger'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../src/shared/api'
import type { Box, FaceQuality, Settings } from '../../src/shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, DetectedFace, RgbImage } from '../../src/main/contracts'
import { MediaStore } from '../../src/main/store/media'
import { DEFAULT_SETTINGS } from '../../src/main/store/schema'
import type { SqlDatabase, SqlExecutor } from '../../src/main/store/sql/database'
import { openSqlStore, reposOf, type SqlStore } from '../../src/main/store/sql-store'
import { Gallery } from '../../src/main/gallery/gallery'
import { randomUnit, rng } from './helpers'

export const GOOD_QUALITY: FaceQuality = { sizePx: 160, detScore: 0.99, blur: 300, yawDeg: 2, pitchDeg: 1, score: 0.95 }

export function face(box: Box, embedding: Float32Array | null, quality: Partial<FaceQuality> = {}): DetectedFace {
  return {
    box,
    detScore: quality.detScore ?? 0.99,
    landmarks5: [],
    quality: { ...GOOD_QUALITY, sizePx: Math.min(box.w, box.h), ...quality },
    embedding
  }
}

/** Analyzer whose next answer (faces or an error) the test sets. */
export class FakeAnalyzer implements Analyzer {
  next: DetectedFace[] | Error = []
  calls: AnalyzeOptions[] = []
  async analyzeEncoded(bytes: Uint8Array, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
    this.calls.push(opts)
    if (bytes.length === 0) throw new ApiError('bad_image', 'not a readable image (the file is empty)')
    if (this.next instanceof Error) throw this.next
    return { width: 640, height: 480, faces: this.next, timings: {}, modelMs: 0, workerId: 0 }
  }
  async analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    return this.analyzeEncoded(image.data, opts)
  }
  workers(): [] {
    return []
  }
  queueDepth(): number {
    return 0
  }
  async close(): Promise<void> {}
}

export async function jpegOf(width: number, height: number, r = 120, g = 90, b = 60): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer()
}

export interface Env<A extends Analyzer = FakeAnalyzer> {
  dir: string
  sql: SqlStore
  media: MediaStore
  analyzer: A
  settings: Settings
  gallery: Gallery
  peopleChanges: number[]
  warnings: string[]
  /** make db writes fail (disk full): all while `on`, or only the `nth` next one (1 = the next) */
  failWrites: { on: boolean; nth?: number }
  close(): Promise<void>
}

export async function makeEnv(): Promise<Env>
export async function makeEnv<A extends Analyzer>(analyzer: A): Promise<Env<A>>
export async function makeEnv(real?: Analyzer): Promise<Env<Analyzer>> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-gallery-'))
  const failWrites: { on: boolean; nth?: number } = { on: false }
  const warnings: string[] = []
  const logger = recordingLogger((level, m) => void ((level === 'warn' || level === 'error') && warnings.push(m)))
  const real_ = await openSqlStore({ dataDir: dir })
  const sql = reposOf(faulty(real_.db, failWrites))
  const media = new MediaStore(dir)
  const analyzer = real ?? new FakeAnalyzer()
  const settings: Settings = structuredClone(DEFAULT_SETTINGS)
  const peopleChanges: number[] = []
  const gallery = new Gallery(sql.gallery, media, analyzer, () => settings, {
    onChange: (n) => peopleChanges.push(n),
    logger
  })
  await gallery.load()
  return {
    dir,
    sql,
    media,
    analyzer,
    settings,
    gallery,
    peopleChanges,
    warnings,
    failWrites,
    async close() {
      failWrites.on = false
      await sql.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** Relative paths of every file below media/ (sorted). */
export async function mediaFiles(dir: string): Promise<string[]> {
  const root = join(dir, 'media')
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    let names: string[]
    try {
      names = await readdir(d)
    } catch {
      return
    }
    for (const n of names) {
      const p = join(d, n)
      if (n.endsWith('.jpg') || n.endsWith('.tmp')) out.push(relative(root, p))
      else await walk(p)
    }
  }
  await walk(root)
  return out.sort()
}

/** Fails write statements (disk full) while `failWrites` says so; reads always work. */
export function faulty(db: SqlDatabase, failWrites: { on: boolean; nth?: number }): SqlDatabase {
  const check = (sql: string): void => {
    if (/^\s*(SELECT|PRAGMA)/i.test(sql)) return
    let fail = failWrites.on
    if (failWrites.nth !== undefined) {
      failWrites.nth--
      if (failWrites.nth === 0) {
        fail = true
        failWrites.nth = undefined
      }
    }
    if (fail) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
  }
  const wrap = (x: SqlExecutor): SqlExecutor => ({
    engine: x.engine,
    run: async (sql, params) => {
      check(sql)
      return x.run(sql, params)
    },
    all: (sql, params) => {
      try {
        check(sql)
      } catch (e) {
        return Promise.reject(e)
      }
      return x.all(sql, params)
    },
    get: (sql, params) => x.get(sql, params)
  })
  const w = wrap(db)
  return {
    ...w,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    notify: (c, p) => db.notify(c, p),
    listen: (c, f) => db.listen(c, f),
    close: () => db.close()
  }
}

/** Every table of the SQL store, the in-memory gallery and the media files: "everything stored". */
export async function snapshot(
  env: Env<Analyzer>
): Promise<{ tables: Record<string, unknown[]>; memory: string; files: string[] }> {
  const tables: Record<string, unknown[]> = {}
  for (const t of ['people', 'photos', 'events', 'review_items', 'review_audit', 'rejections']) {
    tables[t] = await env.sql.db.all(`SELECT * FROM ${t} ORDER BY 1`)
  }
  return { tables, memory: JSON.stringify(env.gallery.list()), files: await mediaFiles(env.dir) }
}

export function embedding(seed: number): Float32Array {
  return randomUnit(rng(seed))
}

/** The ApiError a promise rejects with (fails the test on any other outcome). */
export async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    if (e instanceof ApiError) return e
    throw e
  }
  throw new Error('expected an ApiError')
}
