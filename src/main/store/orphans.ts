// Sweeps image files no record points to: a photo whose person was deleted while the process died,
// an enrolment that crashed between writing the file and the database. Such files are face images
// kept with no way to see or delete them from the console. What counts as referenced is a callback,
// so it keeps working wherever the records live (lowdb today, SQL for history).
import { stat, unlink } from 'node:fs/promises'
import type { MediaKind, MediaStore } from './media'

export interface SweepOptions {
  /** files younger than this are left alone: their record may be being written right now (default 1 h) */
  minAgeMs?: number
  now?: number
}

export interface SweepResult {
  scanned: number
  removed: number
  temps: number
}

/**
 * Removes files of `kind` that `referenced()` does not list and that are older than minAgeMs, plus
 * stale temp files, then empty day folders. `referenced` is read after the listing, so a record
 * written during the sweep protects its file.
 */
export async function sweepOrphans(
  media: MediaStore,
  kind: MediaKind,
  referenced: () => Iterable<string> | Promise<Iterable<string>>,
  opts: SweepOptions = {}
): Promise<SweepResult> {
  const minAge = opts.minAgeMs ?? 3_600_000
  const now = opts.now ?? Date.now()
  const found: { key: string; day: string }[] = []
  const temps: string[] = []
  const days = await media.days(kind)
  for (const day of days) {
    const l = await media.listDay(kind, day)
    for (const key of l.keys) found.push({ key, day })
    temps.push(...l.temps)
  }
  const keep = new Set(await referenced())
  const old = async (file: string): Promise<boolean> => {
    const st = await stat(file).catch(() => null)
    return st !== null && now - st.mtimeMs >= minAge
  }
  let removed = 0
  for (const { key } of found) {
    if (keep.has(key)) continue
    if (!(await old(media.path(key)))) continue
    if (await media.remove(key)) removed++
  }
  let tempCount = 0
  for (const t of temps) {
    if (!(await old(t))) continue
    await unlink(t).then(
      () => tempCount++,
      () => undefined
    )
  }
  for (const day of days) await media.removeDayIfEmpty(kind, day)
  return { scanned: found.length, removed, temps: tempCount }
}
