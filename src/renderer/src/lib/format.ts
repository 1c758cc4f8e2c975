// Every number the operator reads carries its unit; these helpers are the one place that decides how.

/** Similarity/confidence 0..1 as a whole percentage. Cosine can dip below 0; that reads as 0 %. */
export function formatPercent(score: number | null | undefined, digits = 0): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '–'
  const pct = Math.min(100, Math.max(0, score * 100))
  return `${pct.toFixed(digits)}%`
}

export function formatFps(fps: number | null | undefined): string {
  if (fps === null || fps === undefined || !Number.isFinite(fps)) return '– fps'
  return `${fps < 10 ? fps.toFixed(1) : Math.round(fps)} fps`
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** HH:MM in local time: what an operator says over the radio. */
export function formatClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** HH:MM:SS local */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** YYYY-MM-DD HH:MM:SS local; sortable and unambiguous across locales. */
export function formatDateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatTime(ms)}`
}

/** "12 s ago", "5 min ago", "3 h ago", else the date. */
export function formatAgo(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return formatDateTime(ms)
}

export function formatPx(n: number | null | undefined): string {
  if (n === null || n === undefined) return '– px'
  return `${Math.round(n)} px`
}

/** Local "YYYY-MM-DDTHH:MM" for <input type="datetime-local">. */
export function toDatetimeLocal(ms: number): string {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** Parses <input type="datetime-local"> (local time); empty or invalid → undefined. */
export function fromDatetimeLocal(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim())
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m
  const t = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), s ? Number(s) : 0).getTime()
  return Number.isFinite(t) ? t : undefined
}
