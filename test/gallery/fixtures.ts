// Real Store + MediaStore in a temp dir, a scriptable Analyzer, and helpers to compare "everything
// stored" before and after an operation. Shared by test/gallery and test/review.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { recordingLogger } from '../support/logger'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../src/shared/api'
import type { Box, FaceQuality, Settings } from '../../src/shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, DetectedFace, RgbImage } from '../../src/main/contracts'
import { Store } from '../../src/main/store/db'
import { MediaStore } from '../../src/main/store/media'
import { realFsOps } from '../../src/main/store/durable-file'
import { DEFAULT_SETTINGS } from '../../src/main/store/schema'
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
  store: Store
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
  const logger = recordingLogger((level, m) => {
    if (level === 'warn' || level === 'error') warnings.push(m)
  })
  const store = await Store.open(dir, {
    logger,
    fsOps: {
      writeSynced: async (p, t) => {
        let fail = failWrites.on
        if (failWrites.nth !== undefined) {
          failWrites.nth--
          if (failWrites.nth === 0) {
            fail = true
            failWrites.nth = undefined
          }
        }
        if (fail) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        await realFsOps.writeSynced(p, t)
      }
    }
  })
  const media = new MediaStore(dir)
  const analyzer = real ?? new FakeAnalyzer()
  const settings: Settings = structuredClone(DEFAULT_SETTINGS)
  const peopleChanges: number[] = []
  const gallery = new Gallery(store, media, analyzer, () => settings, {
    onChange: (n) => peopleChanges.push(n),
    logger
  })
  return {
    dir,
    store,
    media,
    analyzer,
    settings,
    gallery,
    peopleChanges,
    warnings,
    failWrites,
    async close() {
      failWrites.on = false
      await store.close()
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

/** db.json on disk, the in-memory data and the media files: "everything stored". */
export async function snapshot(env: Env<Analyzer>): Promise<{ disk: string; memory: string; files: string[] }> {
  await env.store.write().catch(() => undefined)
  return {
    disk: await readFile(join(env.dir, 'db.json'), 'utf8'),
    memory: JSON.stringify(env.store.data),
    files: await mediaFiles(env.dir)
  }
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
