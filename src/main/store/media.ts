// Images live as files below <dataDir>/media, never inside db.json (which is rewritten whole on
// every change). A MediaKey is the path below media/: "<kind>/<yyyy-mm-dd>/<uuid>.jpg". Keys
// arrive from the UI (media.get), so every key is checked against that exact shape before it
// touches the file system.
import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rmdir, unlink } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../shared/api'
import type { Box, MediaKey } from '../../shared/types'
import type { RgbImage } from '../contracts'

export const MEDIA_KINDS = ['crops', 'snapshots', 'photos', 'thumbs'] as const
export type MediaKind = (typeof MEDIA_KINDS)[number]

const KEY_RE = /^(crops|snapshots|photos|thumbs)\/(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9_-]{1,100})\.jpg$/
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/
const FILE_RE = /^[A-Za-z0-9_-]{1,100}\.jpg$/

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined
}

/** UTC calendar day, the name of the folder a file written at `ms` goes to. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Parses a key or throws ApiError('invalid_request'). Pure: no file-system access. */
export function parseMediaKey(key: unknown): { kind: MediaKind; day: string; name: string } {
  if (typeof key !== 'string' || key.length > 200)
    throw new ApiError('invalid_request', 'invalid media key: not a short string')
  const m = KEY_RE.exec(key)
  if (!m)
    throw new ApiError(
      'invalid_request',
      `invalid media key ${JSON.stringify(key)}: expected <kind>/<yyyy-mm-dd>/<id>.jpg`
    )
  return { kind: m[1] as MediaKind, day: m[2], name: `${m[3]}.jpg` }
}

export const isMediaKey = (key: unknown): key is MediaKey => {
  try {
    parseMediaKey(key)
    return true
  } catch {
    return false
  }
}

const JPEG_SOI = [0xff, 0xd8, 0xff]
const isJpeg = (b: Uint8Array): boolean => b.length > 3 && JPEG_SOI.every((v, i) => b[i] === v)

export class MediaStore {
  readonly root: string

  constructor(dataDir: string) {
    this.root = resolve(dataDir, 'media')
  }

  /** Absolute path of a key; throws ApiError('invalid_request') for anything but a well-formed key. */
  path(key: MediaKey): string {
    parseMediaKey(key)
    const p = resolve(this.root, key)
    // belt and braces: the pattern already excludes "..", separators and drive letters
    const rel = relative(this.root, p)
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new ApiError('invalid_request', `invalid media key ${JSON.stringify(key)}: outside the media folder`)
    }
    return p
  }

  /** Stores a JPEG atomically (temp file, fsync, rename) and returns its key. `at` picks the day folder. */
  async put(kind: MediaKind, jpeg: Buffer, at: number = Date.now()): Promise<MediaKey> {
    if (!(MEDIA_KINDS as readonly string[]).includes(kind))
      throw new ApiError('invalid_request', `unknown media kind ${JSON.stringify(kind)}`)
    if (!Buffer.isBuffer(jpeg) || !isJpeg(jpeg))
      throw new ApiError('bad_image', 'media must be a JPEG (missing FF D8 FF header)')
    const key = `${kind}/${dayOf(at)}/${randomUUID()}.jpg`
    const file = this.path(key)
    const dir = join(this.root, kind, dayOf(at))
    await mkdir(dir, { recursive: true })
    const tmp = `${file}.tmp`
    const fh = await open(tmp, 'w')
    try {
      await fh.writeFile(jpeg)
      // a power cut must not leave a db record pointing at an empty file
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await rename(tmp, file)
    } catch (e) {
      await unlink(tmp).catch(() => undefined)
      throw e
    }
    return key
  }

  async read(key: MediaKey): Promise<Buffer> {
    const file = this.path(key)
    try {
      return await readFile(file)
    } catch (e) {
      if (errCode(e) === 'ENOENT') throw new ApiError('not_found', `media ${key} does not exist`)
      throw e
    }
  }

  async dataUrl(key: MediaKey): Promise<string> {
    const bytes = await this.read(key)
    return `data:image/jpeg;base64,${bytes.toString('base64')}`
  }

  /** True when a file was deleted, false when it was already gone. Invalid keys still throw. */
  async remove(key: MediaKey): Promise<boolean> {
    const file = this.path(key)
    try {
      await unlink(file)
      return true
    } catch (e) {
      if (errCode(e) === 'ENOENT') return false
      throw e
    }
  }

  /** Day folders of a kind, oldest first. */
  async days(kind: MediaKind): Promise<string[]> {
    const names = await readdir(join(this.root, kind)).catch((e: unknown) => {
      if (errCode(e) === 'ENOENT') return [] as string[]
      throw e
    })
    return names.filter((n) => DATE_RE.test(n)).sort()
  }

  /** Keys of the files in one day folder, plus leftover temp files of interrupted puts. */
  async listDay(kind: MediaKind, day: string): Promise<{ keys: MediaKey[]; temps: string[] }> {
    if (!DATE_RE.test(day)) throw new ApiError('invalid_request', `invalid day ${JSON.stringify(day)}`)
    const dir = join(this.root, kind, day)
    const names = await readdir(dir).catch((e: unknown) => {
      if (errCode(e) === 'ENOENT') return [] as string[]
      throw e
    })
    const keys: MediaKey[] = []
    const temps: string[] = []
    for (const n of names) {
      if (FILE_RE.test(n)) keys.push(`${kind}/${day}/${n}`)
      else if (n.endsWith('.tmp')) temps.push(join(dir, n))
    }
    return { keys, temps }
  }

  /** Removes a day folder if it is empty; true if removed. */
  async removeDayIfEmpty(kind: MediaKind, day: string): Promise<boolean> {
    if (!DATE_RE.test(day)) return false
    try {
      await rmdir(join(this.root, kind, day))
      return true
    } catch {
      return false
    }
  }
}

export interface EncodeOptions {
  /** JPEG quality 1..100 (default 82) */
  quality?: number
  /** scale down (never up) to this width */
  maxWidth?: number
  /** draw this box's outline (snapshots: where the face is), in image pixels */
  box?: Box
  /** outline colour, default amber */
  color?: readonly [number, number, number]
  /** cut this region out first (face crops), in image pixels; clamped to the image */
  crop?: Box
}

/** Integer rectangle of `box` clipped to a w×h image, or null when nothing is left. */
export function clampBox(box: Box, w: number, h: number): { x0: number; y0: number; x1: number; y1: number } | null {
  if (![box.x, box.y, box.w, box.h].every(Number.isFinite)) return null
  const x0 = Math.max(0, Math.floor(box.x))
  const y0 = Math.max(0, Math.floor(box.y))
  const x1 = Math.min(w, Math.ceil(box.x + box.w))
  const y1 = Math.min(h, Math.ceil(box.y + box.h))
  return x1 > x0 && y1 > y0 ? { x0, y0, x1, y1 } : null
}

/** Copy of `img` with the outline of `box` drawn `thickness` px wide, inside the box edge. */
export function drawBoxOutline(
  img: RgbImage,
  box: Box,
  color: readonly [number, number, number],
  thickness: number
): RgbImage {
  const out = new Uint8Array(img.data)
  const r = clampBox(box, img.width, img.height)
  if (!r) return { data: out, width: img.width, height: img.height }
  const t = Math.max(1, Math.round(thickness))
  const W = img.width
  const paint = (x0: number, y0: number, x1: number, y1: number): void => {
    for (let y = Math.max(y0, 0); y < Math.min(y1, img.height); y++) {
      for (let x = Math.max(x0, 0); x < Math.min(x1, W); x++) {
        const i = (y * W + x) * 3
        out[i] = color[0]
        out[i + 1] = color[1]
        out[i + 2] = color[2]
      }
    }
  }
  paint(r.x0, r.y0, r.x1, r.y0 + t)
  paint(r.x0, r.y1 - t, r.x1, r.y1)
  paint(r.x0, r.y0, r.x0 + t, r.y1)
  paint(r.x1 - t, r.y0, r.x1, r.y1)
  return { data: out, width: img.width, height: img.height }
}

export async function encodeJpeg(rgb: RgbImage, opts: EncodeOptions = {}): Promise<Buffer> {
  const { width, height } = rgb
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    rgb.data.length !== width * height * 3
  ) {
    throw new ApiError(
      'invalid_request',
      `encodeJpeg: expected ${width}×${height}×3 = ${width * height * 3} bytes of RGB, got ${rgb.data.length}`
    )
  }
  const quality = Math.min(100, Math.max(1, Math.round(opts.quality ?? 82)))
  let img = rgb
  if (opts.box) {
    // thickness relative to the output size so the outline stays visible after scaling down
    const outW = opts.maxWidth && opts.maxWidth < width ? opts.maxWidth : width
    const t = Math.max(2, Math.round((2 * width) / outW), Math.round(Math.min(width, height) / 240))
    img = drawBoxOutline(img, opts.box, opts.color ?? [255, 176, 0], t)
  }
  let pipe = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width, height, channels: 3 }
  })
  let curW = width
  if (opts.crop) {
    const r = clampBox(opts.crop, width, height)
    if (!r) throw new ApiError('invalid_request', 'encodeJpeg: crop region lies outside the image')
    pipe = pipe.extract({ left: r.x0, top: r.y0, width: r.x1 - r.x0, height: r.y1 - r.y0 })
    curW = r.x1 - r.x0
  }
  if (opts.maxWidth !== undefined) {
    if (!Number.isFinite(opts.maxWidth) || opts.maxWidth < 1)
      throw new ApiError('invalid_request', 'encodeJpeg: maxWidth must be ≥ 1')
    if (curW > opts.maxWidth) pipe = pipe.resize({ width: Math.round(opts.maxWidth) })
  }
  return pipe.jpeg({ quality, mozjpeg: false }).toBuffer()
}
