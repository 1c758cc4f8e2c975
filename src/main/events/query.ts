// Pure filtering, paging, statistics and CSV over event records: no store, no files.
import { isUnconfirmed } from '../../shared/guess'
import { ApiError } from '../../shared/api'
import type { EventQuery, EventRecord, EventStats, HourCount, Page } from '../../shared/types'

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 1000
export const HISTOGRAM_BINS = 20
const HOUR_MS = 3_600_000

const isNonNegInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0

/** Rejects queries the IPC schema would reject too, for callers inside the engine. */
export function checkQuery(q: EventQuery): void {
  if (typeof q !== 'object' || q === null) throw new ApiError('invalid_request', 'event query must be an object')
  for (const k of ['from', 'to', 'offset'] as const) {
    if (q[k] !== undefined && !isNonNegInt(q[k]))
      throw new ApiError('invalid_request', `event query: ${k} must be a non-negative integer`)
  }
  if (q.limit !== undefined && (!isNonNegInt(q.limit) || q.limit < 1 || q.limit > MAX_LIMIT)) {
    throw new ApiError('invalid_request', `event query: limit must be an integer in 1..${MAX_LIMIT}`)
  }
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    throw new ApiError('invalid_request', 'event query: from is after to')
  }
}

/** An event covers [startedAt, updatedAt]; it is in range when that overlaps [from, to]. */
export function inRange(e: Pick<EventRecord, 'startedAt' | 'updatedAt'>, from?: number, to?: number): boolean {
  if (from !== undefined && e.updatedAt < from) return false
  if (to !== undefined && e.startedAt > to) return false
  return true
}

export function matches(e: EventRecord, q: EventQuery): boolean {
  if (q.personId !== undefined && e.personId !== q.personId) return false
  // a guess about Howard is not an appearance of Howard unless asked for
  if (q.personId !== undefined && !q.includeUnconfirmed && isUnconfirmed(e)) return false
  if (q.cameraId !== undefined && e.cameraId !== q.cameraId) return false
  if (q.band !== undefined && e.band !== q.band) return false
  if (q.decision !== undefined && e.decision !== q.decision) return false
  return inRange(e, q.from, q.to)
}

/** Newest first by start; the id breaks ties so pages never overlap or skip. */
export function newestFirst(a: EventRecord, b: EventRecord): number {
  return b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

export function filterSorted(events: readonly EventRecord[], q: EventQuery): EventRecord[] {
  checkQuery(q)
  return events.filter((e) => matches(e, q)).sort(newestFirst)
}

export function paginate<T>(sorted: readonly T[], offset = 0, limit = DEFAULT_LIMIT): Page<T> {
  return { items: sorted.slice(offset, offset + limit), total: sorted.length, offset, limit }
}

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS

/** Bin of a similarity in HISTOGRAM_BINS equal bins over 0..1; out-of-range values go to the end bins. */
export function scoreBin(score: number, bins = HISTOGRAM_BINS): number {
  if (!Number.isFinite(score) || score <= 0) return 0
  return Math.min(bins - 1, Math.floor(score * bins))
}

/** Events counted in the hour they started, per camera; histogram of their scores. */
export function computeStats(
  events: readonly EventRecord[],
  q: { from?: number; to?: number; cameraId?: string; personId?: string }
): EventStats {
  const counts = new Map<string, HourCount>()
  const histogram = new Array<number>(HISTOGRAM_BINS).fill(0)
  for (const e of events) {
    if (q.cameraId !== undefined && e.cameraId !== q.cameraId) continue
    if (q.personId !== undefined && e.personId !== q.personId) continue
    if (q.personId !== undefined && isUnconfirmed(e)) continue
    if (!inRange(e, q.from, q.to)) continue
    const hour = hourOf(e.startedAt)
    const k = `${hour}\u0000${e.cameraId}`
    const c = counts.get(k)
    if (c) c.count++
    else counts.set(k, { cameraId: e.cameraId, hour, count: 1 })
    histogram[scoreBin(e.score)]++
  }
  const perHour = [...counts.values()].sort(
    (a, b) => a.hour - b.hour || (a.cameraId < b.cameraId ? -1 : a.cameraId > b.cameraId ? 1 : 0)
  )
  return { perHour, confidenceHistogram: histogram }
}

/**
 * One RFC 4180 field. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first)
 * gets a leading apostrophe: names come from operators and a CSV is opened by someone else.
 */
export function csvField(value: string | number | null, text = true): string {
  if (value === null) return ''
  let s = String(value)
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const CSV_COLUMNS = [
  'id',
  'startedAt',
  'updatedAt',
  'camera',
  'person',
  'band',
  'decision',
  'score',
  'operator',
  'decidedAt'
] as const

/** Who decided an event's review item and when (null for automatic decisions). */
export type DecisionOf = (e: EventRecord) => { operator: string | null; at: number | null } | null

function decisionFields(d: ReturnType<DecisionOf>): string[] {
  return [csvField(d?.operator ?? ''), csvField(d?.at ? new Date(d.at).toISOString() : '', false)]
}

/** CRLF-terminated rows, header first; timestamps ISO 8601 UTC; camera by name when known. */
export function toCsv(
  events: readonly EventRecord[],
  cameraName: (id: string) => string | undefined = () => undefined,
  decisionOf: DecisionOf = () => null
): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const e of events) {
    lines.push(
      [
        csvField(e.id),
        csvField(new Date(e.startedAt).toISOString(), false),
        csvField(new Date(e.updatedAt).toISOString(), false),
        csvField(cameraName(e.cameraId) ?? e.cameraId),
        csvField(e.personName ?? ''),
        csvField(e.band),
        csvField(e.decision),
        csvField(Number.isFinite(e.score) ? e.score.toFixed(4) : '', false),
        ...decisionFields(decisionOf(e))
      ].join(',')
    )
  }
  return lines.join('\r\n') + '\r\n'
}
