import type { Band, EventDecision, EventQuery } from '@shared/types'
import { fromDatetimeLocal, toDatetimeLocal } from './format'

/** The filter form as the inputs hold it: strings, '' meaning "any". */
export interface EventFilterState {
  personId: string
  cameraId: string
  /** datetime-local value, local time */
  from: string
  to: string
  band: '' | Band
  decision: '' | EventDecision
  includeUnconfirmed: boolean
}

export const EMPTY_FILTERS: Readonly<EventFilterState> = Object.freeze({
  personId: '',
  cameraId: '',
  from: '',
  to: '',
  band: '',
  decision: '',
  includeUnconfirmed: false
})

export type FiltersResult = { ok: true; query: EventQuery } | { ok: false; error: string }

/** Form → EventQuery with only the fields that filter something; a reversed range is an error, not an empty table. */
export function filtersToQuery(s: EventFilterState): FiltersResult {
  const q: EventQuery = {}
  if (s.personId) q.personId = s.personId
  if (s.cameraId) q.cameraId = s.cameraId
  if (s.band) q.band = s.band
  if (s.decision) q.decision = s.decision
  if (s.includeUnconfirmed) q.includeUnconfirmed = true
  if (s.from) {
    const t = fromDatetimeLocal(s.from)
    if (t === undefined) return { ok: false, error: 'The "from" time is not a valid date and time.' }
    q.from = t
  }
  if (s.to) {
    const t = fromDatetimeLocal(s.to)
    if (t === undefined) return { ok: false, error: 'The "to" time is not a valid date and time.' }
    // The picker has minute resolution; include the whole "to" minute.
    q.to = t + 59_999
  }
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    return { ok: false, error: 'The "from" time is after the "to" time.' }
  }
  return { ok: true, query: q }
}

export function queryToFilters(q: EventQuery): EventFilterState {
  return {
    personId: q.personId ?? '',
    cameraId: q.cameraId ?? '',
    from: q.from !== undefined ? toDatetimeLocal(q.from) : '',
    to: q.to !== undefined ? toDatetimeLocal(q.to) : '',
    band: q.band ?? '',
    decision: q.decision ?? '',
    includeUnconfirmed: q.includeUnconfirmed ?? false
  }
}

/** "Last N hours" preset: from = now − N h, to open-ended. */
export function lastHours(hours: number, now = Date.now()): Pick<EventFilterState, 'from' | 'to'> {
  return { from: toDatetimeLocal(now - hours * 3_600_000), to: '' }
}
