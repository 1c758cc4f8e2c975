import { describe, expect, it } from 'vitest'
import {
  checkQuery,
  computeStats,
  csvField,
  filterSorted,
  hourOf,
  inRange,
  paginate,
  scoreBin,
  toCsv
} from '../../src/main/events/query'
import { sampleEvent } from '../store/helpers'

const H = 3_600_000
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0)

describe('csv', () => {
  it('quotes per RFC 4180 only when needed', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    expect(csvField('cr\rhere')).toBe('"cr\rhere"')
    expect(csvField(null)).toBe('')
    expect(csvField(0.5, false)).toBe('0.5')
  })

  it('defuses spreadsheet formulas in text fields', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`)
    expect(csvField('+1')).toBe("'+1")
    expect(csvField('@cmd')).toBe("'@cmd")
    expect(csvField('-2', false)).toBe('-2')
  })

  it('writes a header, ISO timestamps and CRLF rows', () => {
    const e = sampleEvent({
      id: 'e1',
      startedAt: T0,
      updatedAt: T0 + 1500,
      personName: 'Smith, "Jo"',
      score: 0.61234,
      cameraId: 'c1'
    })
    const csv = toCsv([e], (id) => (id === 'c1' ? 'Front door, east' : undefined))
    expect(csv).toBe(
      'id,startedAt,updatedAt,camera,person,band,decision,score,operator,decidedAt\r\n' +
        'e1,2026-11-29T10:00:00.000Z,2026-11-29T10:00:01.500Z,"Front door, east","Smith, ""Jo""",match,auto,0.6123,,\r\n'
    )
    const decided = toCsv([e], undefined, () => ({ operator: 'Ann', at: T0 + 60_000 }))
    expect(decided.split('\r\n')[1]!.split(',').slice(-2)).toEqual(['Ann', '2026-11-29T10:01:00.000Z'])
    const unknown = toCsv([sampleEvent({ id: 'e2', personName: null, cameraId: 'gone' })])
    expect(unknown.split('\r\n')[1].split(',').slice(3, 5)).toEqual(['gone', ''])
  })
})

describe('filters, paging and stats', () => {
  const events = [
    sampleEvent({
      id: 'a',
      cameraId: 'c1',
      personId: 'p1',
      startedAt: T0,
      updatedAt: T0 + 10_000,
      band: 'match',
      score: 0.7
    }),
    sampleEvent({
      id: 'b',
      cameraId: 'c2',
      personId: 'p2',
      startedAt: T0 + H,
      updatedAt: T0 + H + 5000,
      band: 'review',
      score: 0.42,
      decision: 'pending'
    }),
    sampleEvent({
      id: 'c',
      cameraId: 'c1',
      personId: null,
      startedAt: T0 + 2 * H,
      updatedAt: T0 + 2 * H + 1,
      band: 'unknown',
      score: 0.1
    }),
    sampleEvent({
      id: 'd',
      cameraId: 'c1',
      personId: 'p1',
      startedAt: T0 + 2 * H + 60_000,
      updatedAt: T0 + 3 * H,
      band: 'match',
      score: 1
    })
  ]

  it('range means overlap of [startedAt, updatedAt] with [from, to]', () => {
    const e = { startedAt: 100, updatedAt: 200 }
    expect(inRange(e, 150, 160)).toBe(true)
    expect(inRange(e, 200, 300)).toBe(true)
    expect(inRange(e, 0, 100)).toBe(true)
    expect(inRange(e, 201)).toBe(false)
    expect(inRange(e, undefined, 99)).toBe(false)
  })

  it('filters by person, camera, band, decision and time; newest first', () => {
    const ids = (q: Parameters<typeof filterSorted>[1]): string[] => filterSorted(events, q).map((e) => e.id)
    expect(ids({})).toEqual(['d', 'c', 'b', 'a'])
    expect(ids({ personId: 'p1' })).toEqual(['d', 'a'])
    expect(ids({ cameraId: 'c2' })).toEqual(['b'])
    expect(ids({ band: 'unknown' })).toEqual(['c'])
    expect(ids({ decision: 'pending' })).toEqual(['b'])
    // 'a' ends at T0+10 s, 'd' runs into the 3rd hour
    expect(ids({ from: T0 + 20_000, to: T0 + H })).toEqual(['b'])
    expect(ids({ from: T0 + 2 * H + 30 * 60_000 })).toEqual(['d'])
    expect(ids({ cameraId: 'c1', from: T0 + 5000, to: T0 + 2 * H })).toEqual(['c', 'a'])
  })

  it('pages without overlap', () => {
    const sorted = filterSorted(events, {})
    const p1 = paginate(sorted, 0, 3)
    const p2 = paginate(sorted, 3, 3)
    expect(p1).toMatchObject({ total: 4, offset: 0, limit: 3 })
    expect([...p1.items, ...p2.items].map((e) => e.id)).toEqual(['d', 'c', 'b', 'a'])
    expect(paginate(sorted).limit).toBe(50)
  })

  it('rejects bad queries with clear messages', () => {
    expect(() => checkQuery({ limit: 0 })).toThrow(/limit must be an integer in 1..1000/)
    expect(() => checkQuery({ offset: -1 })).toThrow(/offset must be a non-negative integer/)
    expect(() => checkQuery({ from: 10, to: 5 })).toThrow(/from is after to/)
    expect(() => checkQuery({ from: 1.5 })).toThrow(/from/)
  })

  it('bins scores into 20 bins over 0..1', () => {
    expect([
      scoreBin(0),
      scoreBin(0.049),
      scoreBin(0.05),
      scoreBin(0.5),
      scoreBin(0.999),
      scoreBin(1),
      scoreBin(1.3),
      scoreBin(-0.2),
      scoreBin(Number.NaN)
    ]).toEqual([0, 0, 1, 10, 19, 19, 19, 0, 0])
    expect(hourOf(T0 + 59 * 60_000)).toBe(T0)
  })

  it('counts per hour per camera and builds the histogram', () => {
    const s = computeStats(events, {})
    expect(s.perHour).toEqual([
      { cameraId: 'c1', hour: T0, count: 1 },
      { cameraId: 'c2', hour: T0 + H, count: 1 },
      { cameraId: 'c1', hour: T0 + 2 * H, count: 2 }
    ])
    expect(s.confidenceHistogram).toHaveLength(20)
    expect(s.confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(4)
    expect(s.confidenceHistogram[14]).toBe(1) // 0.7
    expect(s.confidenceHistogram[8]).toBe(1) // 0.42
    expect(s.confidenceHistogram[2]).toBe(1) // 0.1
    expect(s.confidenceHistogram[19]).toBe(1) // 1.0
    expect(computeStats(events, { cameraId: 'c2' }).perHour).toEqual([{ cameraId: 'c2', hour: T0 + H, count: 1 }])
    expect(computeStats(events, { from: T0 + 2 * H }).perHour).toEqual([{ cameraId: 'c1', hour: T0 + 2 * H, count: 2 }])
    const p1 = computeStats(events, { personId: 'p1' })
    expect(p1.perHour).toEqual([
      { cameraId: 'c1', hour: T0, count: 1 },
      { cameraId: 'c1', hour: T0 + 2 * H, count: 1 }
    ])
    expect(p1.confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(2)
  })
})

describe('unconfirmed guesses and the person filter', () => {
  it('a pending or ungated review guess about a person is left out of their filter unless asked for', async () => {
    const { isUnconfirmed } = await import('../../src/shared/guess')
    const { matches } = await import('../../src/main/events/query')
    const base = {
      id: 'e',
      cameraId: 'c',
      trackId: 't',
      personName: 'Howard',
      score: 0.31,
      startedAt: 1,
      updatedAt: 2
    } as const
    const guess = { ...base, personId: 'h', band: 'review', decision: 'pending' } as const
    const ungated = { ...base, personId: 'h', band: 'review', decision: 'auto' } as const
    const fact = { ...base, personId: 'h', band: 'match', decision: 'auto' } as const
    const confirmed = { ...base, personId: 'h', band: 'review', decision: 'confirmed' } as const
    expect([guess, ungated, fact, confirmed].map((e) => isUnconfirmed(e))).toEqual([true, true, false, false])
    const as = (e: object) => e as Parameters<typeof matches>[0]
    expect(matches(as(guess), { personId: 'h' })).toBe(false)
    expect(matches(as(guess), { personId: 'h', includeUnconfirmed: true })).toBe(true)
    expect(matches(as(fact), { personId: 'h' })).toBe(true)
    expect(matches(as(confirmed), { personId: 'h' })).toBe(true)
    expect(matches(as(guess), {})).toBe(true)
  })
})
