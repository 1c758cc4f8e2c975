import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { clampBox, dayOf, drawBoxOutline, encodeJpeg, MediaStore, parseMediaKey } from '../../src/main/store/media'
import type { RgbImage } from '../../src/main/contracts'
import { jpeg, tempDir } from './helpers'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-media-'))
})
afterEach(() => cleanup())

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err
  )
  return e instanceof ApiError ? e.code : `not an ApiError: ${String(e)}`
}

describe('MediaStore', () => {
  it('puts a JPEG under media/<kind>/<day>/<uuid>.jpg and reads it back', async () => {
    const m = new MediaStore(dir)
    const bytes = await jpeg()
    const at = Date.UTC(2026, 10, 29, 23, 30)
    const key = await m.put('crops', bytes, at)
    expect(key).toMatch(/^crops\/2026-11-29\/[0-9a-f-]{36}\.jpg$/)
    expect(m.path(key)).toBe(join(dir, 'media', key))
    expect((await m.read(key)).equals(bytes)).toBe(true)
    expect(await m.dataUrl(key)).toBe(`data:image/jpeg;base64,${bytes.toString('base64')}`)
    // no temp file left behind
    expect(await readdir(join(dir, 'media', 'crops', '2026-11-29'))).toEqual([key.split('/')[2]])
    expect(await m.remove(key)).toBe(true)
    expect(existsSync(m.path(key))).toBe(false)
    // already gone: not an error
    expect(await m.remove(key)).toBe(false)
    expect(await codeOf(m.read(key))).toBe('not_found')
  })

  it('refuses anything that is not a JPEG', async () => {
    const m = new MediaStore(dir)
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
      .png()
      .toBuffer()
    expect(await codeOf(m.put('crops', png))).toBe('bad_image')
    expect(await codeOf(m.put('crops', Buffer.alloc(0)))).toBe('bad_image')
    expect(await codeOf(m.put('nope' as 'crops', await jpeg()))).toBe('invalid_request')
  })

  it.each([
    '../db.json',
    'crops/../../db.json',
    'crops/2026-01-01/../../../etc/passwd.jpg',
    '/etc/passwd',
    'C:\\Windows\\x.jpg',
    'crops\\2026-01-01\\a.jpg',
    'crops/2026-01-01/a.png',
    'crops/2026-01-01/.hidden.jpg',
    'other/2026-01-01/a.jpg',
    'crops/2026-1-1/a.jpg',
    'crops/2026-01-01/a.jpg/',
    'media/crops/2026-01-01/a.jpg',
    '',
    'crops/2026-01-01/a b.jpg'
  ])('rejects the key %j before touching the disk', async (key) => {
    const m = new MediaStore(dir)
    expect(() => m.path(key)).toThrow(ApiError)
    expect(await codeOf(m.read(key))).toBe('invalid_request')
    expect(await codeOf(m.remove(key))).toBe('invalid_request')
    expect(await codeOf(m.dataUrl(key))).toBe('invalid_request')
  })

  it('parseMediaKey accepts exactly the stored shape', () => {
    expect(parseMediaKey('snapshots/2026-11-29/abc-DEF_1.jpg')).toEqual({
      kind: 'snapshots',
      day: '2026-11-29',
      name: 'abc-DEF_1.jpg'
    })
    expect(() => parseMediaKey(42)).toThrow(/invalid media key/)
    expect(dayOf(Date.UTC(2026, 0, 2, 0, 0, 0))).toBe('2026-01-02')
  })

  it('lists day folders and keys, and removes empty folders', async () => {
    const m = new MediaStore(dir)
    const a = await m.put('snapshots', await jpeg(), Date.UTC(2026, 0, 2))
    await m.put('snapshots', await jpeg(), Date.UTC(2026, 0, 1))
    expect(await m.days('snapshots')).toEqual(['2026-01-01', '2026-01-02'])
    expect(await m.days('thumbs')).toEqual([])
    expect((await m.listDay('snapshots', '2026-01-02')).keys).toEqual([a])
    expect(await m.removeDayIfEmpty('snapshots', '2026-01-02')).toBe(false)
    await m.remove(a)
    expect(await m.removeDayIfEmpty('snapshots', '2026-01-02')).toBe(true)
  })
})

function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      data[i] = 40
      data[i + 1] = 60 + Math.round((x / width) * 60)
      data[i + 2] = 90
    }
  return { data, width, height }
}

async function pixel(buf: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * info.channels
  return [data[i], data[i + 1], data[i + 2]]
}

describe('encodeJpeg', () => {
  it('encodes raw RGB, scales down to maxWidth and never up', async () => {
    const img = gradient(320, 180)
    const full = await encodeJpeg(img)
    expect((await sharp(full).metadata()).format).toBe('jpeg')
    expect(await sharp(full).metadata()).toMatchObject({ width: 320, height: 180 })
    const small = await encodeJpeg(img, { maxWidth: 160, quality: 60 })
    expect(await sharp(small).metadata()).toMatchObject({ width: 160, height: 90 })
    const same = await encodeJpeg(img, { maxWidth: 1000 })
    expect(await sharp(same).metadata()).toMatchObject({ width: 320, height: 180 })
  })

  it('draws the box outline for snapshots and leaves the inside alone', async () => {
    const img = gradient(320, 180)
    const out = await encodeJpeg(img, { box: { x: 100, y: 40, w: 80, h: 100 }, quality: 95 })
    const edge = await pixel(out, 140, 41)
    expect(edge[0]).toBeGreaterThan(200) // amber: high red
    expect(edge[2]).toBeLessThan(80)
    const inside = await pixel(out, 140, 90)
    expect(inside[0]).toBeLessThan(80)
    // the input frame is not modified
    expect(img.data[(41 * 320 + 140) * 3]).toBe(40)
  })

  it('crops a region', async () => {
    const out = await encodeJpeg(gradient(320, 180), { crop: { x: 300, y: 170, w: 50, h: 50 } })
    expect(await sharp(out).metadata()).toMatchObject({ width: 20, height: 10 })
    await expect(encodeJpeg(gradient(10, 10), { crop: { x: 20, y: 20, w: 5, h: 5 } })).rejects.toThrow(
      /outside the image/
    )
  })

  it('rejects a buffer that does not match the dimensions', async () => {
    await expect(encodeJpeg({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(
      /expected 4×4×3 = 48 bytes/
    )
  })

  it('drawBoxOutline and clampBox handle boxes partly or wholly outside the image', () => {
    expect(clampBox({ x: -5, y: -5, w: 10, h: 10 }, 8, 8)).toEqual({ x0: 0, y0: 0, x1: 5, y1: 5 })
    expect(clampBox({ x: 9, y: 0, w: 3, h: 3 }, 8, 8)).toBeNull()
    expect(clampBox({ x: Number.NaN, y: 0, w: 3, h: 3 }, 8, 8)).toBeNull()
    const img: RgbImage = { data: new Uint8Array(6 * 6 * 3), width: 6, height: 6 }
    const out = drawBoxOutline(img, { x: 1, y: 1, w: 4, h: 4 }, [255, 0, 0], 1)
    const red = (x: number, y: number): boolean => out.data[(y * 6 + x) * 3] === 255
    expect([red(1, 1), red(4, 1), red(1, 4), red(4, 4), red(2, 1)]).toEqual([true, true, true, true, true])
    expect([red(2, 2), red(0, 0), red(5, 5)]).toEqual([false, false, false])
    expect(drawBoxOutline(img, { x: 50, y: 50, w: 4, h: 4 }, [255, 0, 0], 2).data.every((v) => v === 0)).toBe(true)
  })
})
