// @vitest-environment happy-dom
// Pure helpers of the console: geometry, formatting, chart axes, filters, shortcuts, errors.
import { describe, expect, it } from 'vitest'
import { BAND_HEX, hexToRgb, semanticCssVariables } from '../../src/shared/theme'
import { ApiError } from '../../src/shared/api'
import { encodeBridgeMessage } from '../../src/shared/bridge-error'
import type { ReviewItem, WorkerInfo } from '../../src/shared/types'
import { backoffDelay } from '../../src/renderer/src/lib/backoff'
import { bandOf } from '../../src/renderer/src/lib/band'
import { densifyHours, floorHour, HOUR_MS, hourRange, niceCeil, ticks } from '../../src/renderer/src/lib/chart'
import { errorText, toApiError } from '../../src/renderer/src/lib/errors'
import { precheckFile, splitImages, fileToBase64, MAX_UPLOAD_BYTES } from '../../src/renderer/src/lib/files'
import {
  formatFps,
  formatPercent,
  fromDatetimeLocal,
  toDatetimeLocal,
  formatAgo
} from '../../src/renderer/src/lib/format'
import { fitContain, placeLabels, scaleBox } from '../../src/renderer/src/lib/geometry'
import { replaceById } from '../../src/renderer/src/lib/list'
import { filtersToQuery, EMPTY_FILTERS } from '../../src/renderer/src/lib/query'
import { conflictText, decisionText } from '../../src/renderer/src/lib/review'
import { isTypingTarget, reviewCommandForKey } from '../../src/renderer/src/lib/shortcuts'
import { workerSummary } from '../../src/renderer/src/lib/system'
import { parseHash } from '../../src/renderer/src/composables/useRoute'

describe('geometry', () => {
  it('fitContain letterboxes and pillarboxes', () => {
    expect(fitContain(640, 360, 320, 240)).toEqual({ x: 0, y: 30, w: 320, h: 180, scale: 0.5 })
    expect(fitContain(100, 200, 400, 200)).toEqual({ x: 150, y: 0, w: 100, h: 200, scale: 1 })
    expect(fitContain(0, 360, 320, 240).scale).toBe(0)
  })
  it('scaleBox maps and clips to the displayed image', () => {
    const fit = fitContain(640, 360, 320, 240)
    expect(scaleBox({ x: 100, y: 50, w: 60, h: 80 }, fit)).toEqual({ x: 50, y: 55, w: 30, h: 40 })
    expect(scaleBox({ x: -20, y: 340, w: 60, h: 60 }, fit)).toEqual({ x: 0, y: 200, w: 20, h: 10 })
  })
  it('placeLabels avoids collisions left to right', () => {
    const spots = placeLabels(
      [
        { box: { x: 100, y: 100, w: 40, h: 40 }, width: 120 },
        { box: { x: 150, y: 100, w: 40, h: 40 }, width: 40 },
        { box: { x: 400, y: 100, w: 40, h: 40 }, width: 40 }
      ],
      16,
      { top: 0, bottom: 300 }
    )
    expect(spots).toEqual(['above', 'below', 'above'])
  })
})

describe('format', () => {
  it('percent is whole, clamped, with the unit', () => {
    expect(formatPercent(0.874)).toBe('87%')
    expect(formatPercent(-0.2)).toBe('0%')
    expect(formatPercent(1.3)).toBe('100%')
    expect(formatPercent(0.4567, 1)).toBe('45.7%')
    expect(formatPercent(null)).toBe('–')
  })
  it('fps keeps one decimal under 10', () => {
    expect(formatFps(4.86)).toBe('4.9 fps')
    expect(formatFps(25.4)).toBe('25 fps')
  })
  it('datetime-local round trip in local time', () => {
    const t = new Date(2026, 10, 29, 14, 3).getTime()
    expect(toDatetimeLocal(t)).toBe('2026-11-29T14:03')
    expect(fromDatetimeLocal('2026-11-29T14:03')).toBe(t)
    expect(fromDatetimeLocal('nonsense')).toBeUndefined()
    expect(fromDatetimeLocal('')).toBeUndefined()
  })
  it('ago', () => {
    expect(formatAgo(1000, 13_000)).toBe('12 s ago')
    expect(formatAgo(0, 5 * 60_000)).toBe('5 min ago')
  })
})

describe('bands', () => {
  it('thresholds are inclusive at the bottom of each band', () => {
    const t = { accept: 0.5, review: 0.35 }
    expect([0.5, 0.49, 0.35, 0.34].map((s) => bandOf(s, t))).toEqual(['match', 'review', 'review', 'unknown'])
  })
})

describe('chart axes', () => {
  it('niceCeil rounds up to 1/2/5 × 10^n', () => {
    expect([0, 0.3, 1, 3, 7, 12, 48, 51].map(niceCeil)).toEqual([1, 0.5, 1, 5, 10, 20, 50, 100])
  })
  it('ticks are integer steps covering the maximum', () => {
    expect(ticks(34, 4)).toEqual([0, 10, 20, 30, 40])
    expect(ticks(3, 4)).toEqual([0, 1, 2, 3])
    expect(ticks(0, 4)).toEqual([0, 1])
  })
  it('densifyHours fills gaps with zeros per camera and keeps cameras with no events', () => {
    const start = floorHour(Date.now())
    const rows = [
      { cameraId: 'a', hour: start, count: 2 },
      { cameraId: 'a', hour: start + 2 * HOUR_MS, count: 5 },
      { cameraId: 'z', hour: start + HOUR_MS, count: 1 }
    ]
    expect(densifyHours(rows, start, 3, ['a', 'b'])).toEqual([
      { cameraId: 'a', counts: [2, 0, 5] },
      { cameraId: 'b', counts: [0, 0, 0] },
      { cameraId: 'z', counts: [0, 1, 0] }
    ])
  })
  it('hourRange spans at least a day and at most two weeks', () => {
    const now = new Date(2026, 10, 29, 14, 20).getTime()
    const r = hourRange([], undefined, undefined, now)
    expect(r.hours).toBe(24)
    expect(r.start + r.hours * HOUR_MS).toBe(floorHour(now) + HOUR_MS)
    expect(hourRange([], now - 60 * 86_400_000, now, now).hours).toBe(14 * 24)
  })
})

describe('event filters', () => {
  it('an empty form is an empty query', () => {
    expect(filtersToQuery({ ...EMPTY_FILTERS })).toEqual({ ok: true, query: {} })
  })
  it('bad dates are reported, not dropped', () => {
    expect(filtersToQuery({ ...EMPTY_FILTERS, from: '2026-13-99T99:99x' })).toMatchObject({ ok: false })
  })
})

describe('review shortcuts', () => {
  it('maps the documented keys and ignores modified ones', () => {
    expect(
      ['Enter', 'c', 'C', 'r', 'X', '1', '3', 'a', 'n', 'u', 'j', 'k', 'ArrowDown'].map(
        (key) => reviewCommandForKey({ key })?.kind
      )
    ).toEqual([
      'confirm',
      'confirm',
      'confirm',
      'reject',
      'reject',
      'pick',
      'pick',
      'reassign',
      'newPerson',
      'undo',
      'next',
      'prev',
      'next'
    ])
    expect(reviewCommandForKey({ key: '3' })).toEqual({ kind: 'pick', index: 2 })
    expect(reviewCommandForKey({ key: 'r', ctrlKey: true })).toBeNull()
    expect(reviewCommandForKey({ key: 'c', metaKey: true })).toBeNull()
    expect(reviewCommandForKey({ key: '4' })).toBeNull()
  })
  it('text fields swallow shortcuts, checkboxes do not', () => {
    const text = document.createElement('input')
    const box = document.createElement('input')
    box.type = 'checkbox'
    expect(isTypingTarget(text)).toBe(true)
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true)
    expect(isTypingTarget(box)).toBe(false)
    expect(isTypingTarget(window)).toBe(false)
  })
})

describe('errors', () => {
  it('recovers the code from every transport', () => {
    const fromWs = new ApiError('conflict', 'already decided')
    expect(toApiError(fromWs)).toBe(fromWs)
    const bridged = new Error(
      `Error invoking remote method 'vigil:review.decide': Error: ${encodeBridgeMessage({ code: 'conflict', message: 'already decided by Ana' })}`
    )
    expect(toApiError(bridged)).toMatchObject({ code: 'conflict', message: 'already decided by Ana' })
    expect(toApiError({ code: 'busy', message: 'queue full' })).toMatchObject({ code: 'busy', message: 'queue full' })
    expect(toApiError(new Error('boom'))).toMatchObject({ code: 'internal', message: 'boom' })
    expect(errorText(new ApiError('not_found', 'no camera x'), 'Could not save')).toBe('Could not save: no camera x')
  })
})

describe('conflict text', () => {
  const base = {
    audit: [],
    status: 'confirmed',
    decidedBy: 'Marta',
    decidedAt: new Date(2026, 10, 29, 14, 3).getTime()
  } as unknown as ReviewItem
  it('says who and when from the refreshed item', () => {
    expect(conflictText(new ApiError('conflict', 'stale'), base)).toBe('Already decided by Marta at 14:03 (confirmed).')
  })
  it('explains a changed-but-pending item', () => {
    const undone = {
      ...base,
      status: 'pending',
      decidedBy: null,
      decidedAt: null,
      audit: [
        {
          at: base.decidedAt,
          operator: 'Marta',
          action: 'undo',
          previous: { status: 'confirmed', personId: 'p' },
          next: { status: 'pending', personId: 'p' },
          addedPhotoId: null
        }
      ]
    } as unknown as ReviewItem
    expect(conflictText(new ApiError('conflict', 'stale'), undone)).toMatch(
      /^Changed by Marta at 14:03 and pending again/
    )
  })
  it('falls back to the details, then to the server message', () => {
    expect(conflictText(new ApiError('conflict', 'x', { decidedBy: 'Bo', decidedAt: base.decidedAt }), null)).toBe(
      'Already decided by Bo at 14:03.'
    )
    expect(conflictText(new ApiError('conflict', 'version 3 is stale'), null)).toBe('version 3 is stale')
  })
  it('decisionText names the person', () => {
    expect(decisionText({ ...base, personId: 'p1' }, () => 'Ana')).toBe('Confirmed as Ana')
  })
})

describe('workers summary', () => {
  const w = (over: Partial<WorkerInfo>): WorkerInfo => ({
    id: 0,
    pid: 1,
    requested: 'cpu',
    provider: 'cpu',
    state: 'ready',
    jobsDone: 0,
    ...over
  })
  it('groups by the provider actually in use and flags fallback and crashes', () => {
    expect(workerSummary([w({}), w({ id: 1 })])).toEqual({ text: 'CPU ×2', trouble: false, fellBack: false })
    expect(workerSummary([w({ requested: 'cuda', provider: 'cuda' }), w({ id: 1, requested: 'cuda' })])).toEqual({
      text: 'CUDA GPU ×1 · CPU ×1',
      trouble: false,
      fellBack: true
    })
    expect(workerSummary([w({ state: 'crashed' })])).toMatchObject({ text: '1 crashed', trouble: true })
    expect(workerSummary([])).toMatchObject({ trouble: true })
  })
})

describe('backoff', () => {
  it('doubles, caps and jitters', () => {
    const mid = { random: () => 0.5 }
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, mid))).toEqual([500, 1000, 2000, 4000, 15000])
    expect(backoffDelay(2, { random: () => 0 })).toBe(1600)
    expect(backoffDelay(2, { random: () => 1 })).toBe(2400)
  })
})

describe('files', () => {
  it('prechecks type and size before uploading', () => {
    expect(precheckFile({ name: 'a.jpg', size: 10, type: 'image/jpeg' })).toBeNull()
    expect(precheckFile({ name: 'a.HEIC', size: 10, type: '' })).toBeNull()
    expect(precheckFile({ name: 'notes.txt', size: 10, type: 'text/plain' })?.code).toBe('bad_image')
    expect(precheckFile({ name: 'a.png', size: 0, type: 'image/png' })?.code).toBe('bad_image')
    expect(precheckFile({ name: 'a.png', size: MAX_UPLOAD_BYTES + 1, type: 'image/png' })).toMatchObject({
      code: 'too_large',
      message: expect.stringContaining('30 MB')
    })
  })
  it('folder imports keep images and count the rest', () => {
    const f = (name: string, type = ''): { name: string; size: number; type: string } => ({ name, size: 1, type })
    expect(splitImages([f('a.jpg'), f('Thumbs.db'), f('.hidden.jpg'), f('b.png', 'image/png'), f('c.txt')])).toEqual({
      images: [f('a.jpg'), f('b.png', 'image/png')],
      skipped: 3
    })
  })
  it('base64 without the data-URL prefix', async () => {
    expect(await fileToBase64(new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }))).toBe('AQID')
  })
})

describe('route', () => {
  it('parses the hash and defaults to live', () => {
    expect(parseHash('#/review')).toBe('review')
    expect(parseHash('#/events?x=1')).toBe('events')
    expect(parseHash('#/nope')).toBe('live')
    expect(parseHash('')).toBe('live')
  })
})

describe('replaceById', () => {
  it('replaces in place by id and says false for an id not in the list', () => {
    const list = [
      { id: 'a', v: 1 },
      { id: 'b', v: 2 }
    ]
    expect(replaceById(list, { id: 'b', v: 3 })).toBe(true)
    expect(list).toEqual([
      { id: 'a', v: 1 },
      { id: 'b', v: 3 }
    ])
    expect(replaceById(list, { id: 'c', v: 4 })).toBe(false)
    expect(list).toHaveLength(2)
  })
})

describe('semantic colours', () => {
  it('one hex per meaning, with matching tints, for the console and the snapshot boxes', () => {
    expect(hexToRgb(BAND_HEX.match)).toEqual([63, 185, 80])
    const vars = semanticCssVariables()
    expect(vars['--c-review']).toBe(BAND_HEX.review)
    expect(vars['--c-offline-bg']).toBe('rgba(248, 81, 73, 0.14)')
    expect(Object.keys(vars).sort()).toEqual(
      ['match', 'review', 'unknown', 'offline'].flatMap((n) => [`--c-${n}`, `--c-${n}-bg`]).sort()
    )
    expect(() => hexToRgb('green')).toThrow(/#rrggbb/)
  })
})
