// Pure helpers of the alerts UI: wording, defaults and the list merge, unit-tested without a DOM.
import type { AlertRecord, AlertRuleInput, AlertRule, DeliveryRecord } from '@shared/types'

export const KIND_LABEL: Record<AlertRecord['kind'], string> = {
  face: 'Face',
  camera_offline: 'Camera offline',
  camera_online: 'Camera back online',
  engine_overloaded: 'Engine overloaded',
  test: 'Test'
}

/** The semantic colour class of an alert: band colours for faces, red for camera trouble. */
export function alertTone(a: AlertRecord): 'match' | 'review' | 'unknown' | 'offline' | 'accent' {
  if (a.kind === 'face') return a.band === 'match' ? 'match' : a.band === 'review' ? 'review' : 'unknown'
  if (a.kind === 'camera_offline' || a.kind === 'engine_overloaded') return 'offline'
  return 'accent'
}

export function newRule(): AlertRuleInput {
  return {
    name: '',
    enabled: true,
    trigger: 'face',
    who: { kind: 'people', personIds: [] },
    bands: ['match'],
    cameraIds: [],
    schedule: null,
    cooldownSec: 300,
    offlineAfterSec: 30,
    onOnline: true,
    onOverload: false,
    actions: { console: true, desktop: false, sound: false, targetIds: [] }
  }
}

export function ruleInputOf(r: AlertRule): AlertRuleInput {
  const { createdAt, updatedAt, ...rest } = r
  void createdAt
  void updatedAt
  return structuredClone(rest)
}

const DAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

/** "always", or "Mon–Fri 08:00–18:00"-like text (listed days, local time). */
export function scheduleText(r: Pick<AlertRule, 'schedule'>): string {
  const s = r.schedule
  if (!s) return 'always'
  const days = [...s.days].sort((a, b) => a - b)
  const run = days.length > 2 && days.every((d, i) => i === 0 || d === days[i - 1] + 1)
  const dayText =
    days.length === 7
      ? 'daily'
      : run
        ? `${DAY[days[0]]}–${DAY[days[days.length - 1]]}`
        : days.map((d) => DAY[d]).join(', ')
  return `${dayText} ${s.from}–${s.to}`
}

/** Human summary of who a rule watches. */
export function whoText(r: AlertRule, nameOf: (id: string) => string | undefined): string {
  if (r.trigger === 'camera') {
    const parts = [`offline > ${r.offlineAfterSec} s`]
    if (r.onOnline) parts.push('back online')
    if (r.onOverload) parts.push('overload')
    return parts.join(', ')
  }
  switch (r.who.kind) {
    case 'people':
      return `${r.who.personIds.map((id) => nameOf(id) ?? 'deleted person').join(', ')} (${r.bands.join(', ')})`
    case 'anyKnown':
      return `anyone known (${r.bands.join(', ')})`
    case 'unknown':
      return 'any unknown face'
    case 'strangerGroup':
      return `${r.who.groupIds.length} recurring stranger group(s)`
  }
}

/** Newest first, one entry per id, at most `max`. */
export function mergeById<T extends { id: string }>(list: T[], item: T, newer: (a: T, b: T) => number, max = 200): T[] {
  const rest = list.filter((x) => x.id !== item.id)
  return [item, ...rest].sort(newer).slice(0, max)
}

export const newerAlert = (a: AlertRecord, b: AlertRecord): number => b.at - a.at
export const newerDelivery = (a: DeliveryRecord, b: DeliveryRecord): number => b.createdAt - a.createdAt
