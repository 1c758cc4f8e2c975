// Pure rule logic: does an event fire a rule, is the rule's schedule open, and the cooldown that
// makes one person in view one alert (not one per analysed frame or per event update).
import type { AlertRule, AlertSchedule, Band } from '../../shared/types'

/** What a rule looks at of an event; `groupId` comes from the face-memory work (null until then). */
export interface FaceFacts {
  cameraId: string
  trackId: string
  band: Band
  personId: string | null
  groupId?: string | null
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

/**
 * Whether `at` falls in the weekly window, in the engine's local time. A window whose end is
 * before its start runs past midnight and belongs to the day it starts on (Fri 22:00–06:00
 * covers Saturday 03:00).
 */
export function inSchedule(schedule: AlertSchedule | null, at: Date): boolean {
  if (!schedule) return true
  const from = minutesOf(schedule.from)
  const to = minutesOf(schedule.to)
  const m = at.getHours() * 60 + at.getMinutes()
  const day = at.getDay()
  if (from < to) return schedule.days.includes(day) && m >= from && m < to
  if (m >= from) return schedule.days.includes(day)
  if (m < to) return schedule.days.includes((day + 6) % 7)
  return false
}

export function cameraMatches(rule: AlertRule, cameraId: string): boolean {
  return rule.cameraIds.length === 0 || rule.cameraIds.includes(cameraId)
}

/** Who, where and which band; schedule and cooldown are checked by the caller. */
export function faceRuleMatches(rule: AlertRule, f: FaceFacts): boolean {
  if (!rule.enabled || rule.trigger !== 'face') return false
  if (!cameraMatches(rule, f.cameraId)) return false
  const who = rule.who
  switch (who.kind) {
    case 'unknown':
      return f.band === 'unknown'
    case 'anyKnown':
      return f.band !== 'unknown' && f.personId !== null && rule.bands.includes(f.band)
    case 'people':
      return (
        f.band !== 'unknown' && f.personId !== null && who.personIds.includes(f.personId) && rule.bands.includes(f.band)
      )
    case 'strangerGroup':
      return f.groupId != null && who.groupIds.includes(f.groupId)
  }
}

/**
 * Last alert per rule and track. A track is one person continuously in view, so keying on the
 * track (not the person) also covers a track whose name firms up from review to match.
 */
export class Cooldown {
  private readonly last = new Map<string, number>()

  constructor(private readonly maxEntries = 10_000) {}

  static key(ruleId: string, cameraId: string, trackId: string): string {
    return `${ruleId}\u0000${cameraId}\u0000${trackId}`
  }

  /** True (and remembered) when the rule may fire for this track at `now`. */
  take(key: string, cooldownSec: number, now: number): boolean {
    const prev = this.last.get(key)
    // cooldown 0 still means one alert per track: a track never re-alerts for its own updates
    if (prev !== undefined && (cooldownSec === 0 || now - prev < cooldownSec * 1000)) return false
    this.last.set(key, now)
    if (this.last.size > this.maxEntries) this.prune(now)
    return true
  }

  private prune(now: number): void {
    // tracks end within minutes; entries older than a day cannot block anything that matters
    for (const [k, at] of this.last) if (now - at > 86_400_000) this.last.delete(k)
    while (this.last.size > this.maxEntries) {
      const first = this.last.keys().next().value
      if (first === undefined) break
      this.last.delete(first)
    }
  }
}
