// Axis math for the hand-written SVG charts.

/** Smallest "nice" number (1, 2, 5 × 10^n) at or above v, so the y axis ends on a round value. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1
  const exp = Math.floor(Math.log10(v))
  const f = v / 10 ** exp
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
  return nice * 10 ** exp
}

/**
 * Axis ticks from 0 covering max, about `count` intervals, each step a nice number (1, 2, 5 × 10^n,
 * never below 1 since the charts count things). The last tick is the axis top.
 */
export function ticks(max: number, count = 4): number[] {
  const step = Math.max(1, niceCeil(Math.max(max, 1) / count))
  const top = Math.max(step, Math.ceil(max / step) * step)
  const out: number[] = []
  for (let v = 0; v <= top + step / 2; v += step) out.push(v)
  return out
}

export const HOUR_MS = 3_600_000

/** Start of the hour containing t, local time (hours are shown as local clock hours). */
export function floorHour(t: number): number {
  const d = new Date(t)
  d.setMinutes(0, 0, 0)
  return d.getTime()
}

export interface HourSeries {
  cameraId: string
  /** one count per hour from `start`, length `hours` */
  counts: number[]
}

/** Turns sparse (camera, hour, count) rows into dense per-camera arrays over [start, start + hours·1h). */
export function densifyHours(
  rows: { cameraId: string; hour: number; count: number }[],
  start: number,
  hours: number,
  cameraIds: string[]
): HourSeries[] {
  const ids = [...cameraIds]
  for (const r of rows) if (!ids.includes(r.cameraId)) ids.push(r.cameraId)
  return ids.map((cameraId) => {
    const counts = new Array<number>(hours).fill(0)
    for (const r of rows) {
      if (r.cameraId !== cameraId) continue
      const i = Math.floor((r.hour - start) / HOUR_MS)
      if (i >= 0 && i < hours) counts[i] = (counts[i] ?? 0) + r.count
    }
    return { cameraId, counts }
  })
}

/** The hour span to chart: the query range when given, else the span of the data (at least 24 h). */
export function hourRange(
  rows: { hour: number }[],
  from?: number,
  to?: number,
  now = Date.now()
): { start: number; hours: number } {
  const end = floorHour(to ?? (rows.length ? Math.max(now, ...rows.map((r) => r.hour)) : now)) + HOUR_MS
  let start =
    from !== undefined ? floorHour(from) : rows.length ? Math.min(...rows.map((r) => r.hour)) : end - 24 * HOUR_MS
  start = Math.min(start, end - 24 * HOUR_MS)
  // Beyond two weeks per-hour bars become slivers; the chart shows the most recent 14 days.
  const hours = Math.min(14 * 24, Math.round((end - start) / HOUR_MS))
  return { start: end - hours * HOUR_MS, hours }
}
