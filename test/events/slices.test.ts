// The pure slicing behind stats (and the repository's score bins): every event that overlaps the
// range falls in exactly one slice.
import { describe, expect, it } from 'vitest'
import { statsSlices } from '../../src/main/events/events'
import { scoreBin } from '../../src/main/events/query'
import { scoreBinOf, whereOf } from '../../src/main/store/repos/events'

const H = 3_600_000

describe('statsSlices', () => {
  it('is one open slice for a short or open-ended range', () => {
    expect(statsSlices(undefined, 10 * H)).toEqual([[null, null]])
    expect(statsSlices(0, 6 * H)).toEqual([[null, null]])
  })

  it('cuts a long range into 6-hour slices, open below (earlier starts may overlap) and above', () => {
    expect(statsSlices(0, 13 * H)).toEqual([
      [null, 6 * H],
      [6 * H, 12 * H],
      [12 * H, null]
    ])
    const s = statsSlices(1000, 7 * 24 * H + 1000)
    expect(s).toHaveLength(29)
    // contiguous: each slice starts where the previous ended
    for (let i = 1; i < s.length; i++) expect(s[i][0]).toBe(s[i - 1][1])
  })
})

describe('SQL helpers', () => {
  it('bins scores exactly like the in-memory histogram', () => {
    for (const x of [-1, 0, 0.049, 0.05, 0.5, 0.999, 1, 2, Number.NaN]) expect(scoreBinOf(x)).toBe(scoreBin(x))
  })

  it('builds the filter with parameters only, overlap semantics for time', () => {
    expect(whereOf({})).toEqual({ sql: '1 = 1', params: [] })
    expect(whereOf({ personId: "x' OR 1=1", from: 5, to: 9 })).toEqual({
      sql: 'person_id = ? AND updated_at >= ? AND started_at <= ?',
      params: ["x' OR 1=1", 5, 9]
    })
  })
})
