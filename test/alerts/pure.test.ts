// Pure parts of the alerts box: rule matching, schedule, cooldown per rule and track, backoff and
// retry policy, HMAC, payload and topics, request validation.
import { describe, expect, it } from 'vitest'
import { backoffMs } from '../../src/main/alerts/backoff'
import { nextState } from '../../src/main/alerts/outbox'
import {
  buildPayload,
  discoveryMessages,
  sign,
  topics,
  topicSegment,
  verifySignature,
  cameraStatusPayload
} from '../../src/main/alerts/payload'
import { Cooldown, faceRuleMatches, inSchedule } from '../../src/main/alerts/rules'
import { isPermanentStatus } from '../../src/main/alerts/webhook'
import { validateRequest } from '../../src/shared/schemas'
import type { AlertRecord, AlertRule } from '../../src/shared/types'

function rule(over: Partial<AlertRule> = {}): AlertRule {
  return {
    id: 'r1',
    name: 'watch list',
    enabled: true,
    trigger: 'face',
    who: { kind: 'people', personIds: ['lin'] },
    bands: ['match', 'review'],
    cameraIds: [],
    schedule: null,
    cooldownSec: 300,
    offlineAfterSec: 30,
    onOnline: true,
    onOverload: false,
    actions: { console: true, desktop: false, sound: false, targetIds: [] },
    createdAt: 0,
    updatedAt: 0,
    ...over
  }
}

const face = (over: Partial<Parameters<typeof faceRuleMatches>[1]> = {}): Parameters<typeof faceRuleMatches>[1] => ({
  cameraId: 'cam1',
  trackId: 't1',
  band: 'match',
  personId: 'lin',
  ...over
})

describe('faceRuleMatches', () => {
  it('fires for a watched person in a listed band only', () => {
    expect(faceRuleMatches(rule(), face())).toBe(true)
    expect(faceRuleMatches(rule(), face({ personId: 'alex' }))).toBe(false)
    expect(faceRuleMatches(rule({ bands: ['match'] }), face({ band: 'review' }))).toBe(false)
    expect(faceRuleMatches(rule(), face({ band: 'unknown', personId: null }))).toBe(false)
  })
  it('respects cameras, enabled and trigger', () => {
    expect(faceRuleMatches(rule({ cameraIds: ['cam2'] }), face())).toBe(false)
    expect(faceRuleMatches(rule({ cameraIds: ['cam1'] }), face())).toBe(true)
    expect(faceRuleMatches(rule({ enabled: false }), face())).toBe(false)
    expect(faceRuleMatches(rule({ trigger: 'camera' }), face())).toBe(false)
  })
  it('any known, any unknown, stranger groups', () => {
    expect(faceRuleMatches(rule({ who: { kind: 'anyKnown' } }), face({ personId: 'alex' }))).toBe(true)
    expect(faceRuleMatches(rule({ who: { kind: 'anyKnown' } }), face({ band: 'unknown', personId: null }))).toBe(false)
    expect(faceRuleMatches(rule({ who: { kind: 'unknown' } }), face({ band: 'unknown', personId: null }))).toBe(true)
    expect(faceRuleMatches(rule({ who: { kind: 'unknown' } }), face())).toBe(false)
    const g = rule({ who: { kind: 'strangerGroup', groupIds: ['g1'] } })
    expect(faceRuleMatches(g, face({ band: 'unknown', personId: null, groupId: 'g1' }))).toBe(true)
    expect(faceRuleMatches(g, face({ band: 'unknown', personId: null, groupId: null }))).toBe(false)
  })
})

describe('inSchedule', () => {
  // 2026-11-27 is a Friday; local time so the schedule means what the operator typed
  const at = (d: number, h: number, m = 0): Date => new Date(2026, 10, d, h, m)
  it('null = always', () => expect(inSchedule(null, at(27, 3))).toBe(true))
  it('a day window: from inclusive, to exclusive, listed days only', () => {
    const s = { days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }
    expect(inSchedule(s, at(27, 8))).toBe(true)
    expect(inSchedule(s, at(27, 17, 59))).toBe(true)
    expect(inSchedule(s, at(27, 18))).toBe(false)
    expect(inSchedule(s, at(27, 7, 59))).toBe(false)
    expect(inSchedule(s, at(28, 12))).toBe(false) // Saturday
  })
  it('a night window belongs to the day it starts on', () => {
    const s = { days: [5], from: '22:00', to: '06:00' } // Friday night
    expect(inSchedule(s, at(27, 23))).toBe(true)
    expect(inSchedule(s, at(28, 3))).toBe(true) // Saturday 03:00, still Friday's night
    expect(inSchedule(s, at(28, 6))).toBe(false)
    expect(inSchedule(s, at(27, 3))).toBe(false) // Friday 03:00 belongs to Thursday's night
  })
})

describe('Cooldown', () => {
  it('one alert per rule and track; another track or rule is independent', () => {
    const c = new Cooldown()
    const k = Cooldown.key('r1', 'cam1', 't1')
    expect(c.take(k, 300, 0)).toBe(true)
    expect(c.take(k, 300, 1000)).toBe(false)
    expect(c.take(Cooldown.key('r1', 'cam1', 't2'), 300, 1000)).toBe(true)
    expect(c.take(Cooldown.key('r2', 'cam1', 't1'), 300, 1000)).toBe(true)
    expect(c.take(k, 300, 300_000)).toBe(true)
  })
  it('cooldown 0 still means once per track', () => {
    const c = new Cooldown()
    const k = Cooldown.key('r1', 'cam1', 't1')
    expect(c.take(k, 0, 0)).toBe(true)
    expect(c.take(k, 0, 10_000_000)).toBe(false)
  })
  it('stays bounded', () => {
    const c = new Cooldown(10)
    for (let i = 0; i < 100; i++) c.take(Cooldown.key('r', 'c', String(i)), 60, i)
    expect(c.take(Cooldown.key('r', 'c', '0'), 60, 100)).toBe(true) // evicted long ago
  })
})

describe('backoff and retry policy', () => {
  const opts = { baseMs: 1000, maxMs: 60_000, jitter: 0 }
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 7, 8, 100].map((n) => backoffMs(n, opts))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000
    ])
  })
  it('jitter stays within ± the fraction and never exceeds the cap', () => {
    const j = { ...opts, jitter: 0.2 }
    expect(backoffMs(1, j, () => 0)).toBe(800)
    expect(backoffMs(1, j, () => 1)).toBe(1200)
    expect(backoffMs(10, j, () => 1)).toBe(60_000)
  })
  it('delivered, retried later, given up after maxAttempts, never retried when permanent', () => {
    const ok = { ok: true, error: null, permanent: false }
    const fail = { ok: false, error: 'ECONNREFUSED', permanent: false }
    expect(nextState(0, ok, 0, 5, opts)).toEqual({ status: 'delivered' })
    expect(nextState(0, fail, 100, 5, opts)).toEqual({ status: 'pending', nextAttemptAt: 1100 })
    expect(nextState(2, fail, 100, 5, opts)).toEqual({ status: 'pending', nextAttemptAt: 4100 })
    expect(nextState(4, fail, 100, 5, opts)).toEqual({ status: 'failed' })
    expect(nextState(0, { ...fail, permanent: true }, 100, 5, opts)).toEqual({ status: 'failed' })
  })
  it('4xx except timeout and rate limit is permanent', () => {
    expect([400, 401, 404, 408, 429, 500, 503].map(isPermanentStatus)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false
    ])
  })
})

const alert: AlertRecord = {
  id: 'a1',
  kind: 'face',
  ruleId: 'r1',
  ruleName: 'watch list',
  at: Date.UTC(2026, 10, 29, 12, 0, 0),
  cameraId: 'cam/1',
  cameraName: 'Stage',
  eventId: 'e1',
  trackId: 't1',
  personId: 'lin',
  personName: 'Lin-Manuel Miranda',
  band: 'match',
  score: 0.61,
  crop: 'crops/2026-11-29/a b.jpg',
  snapshot: null,
  message: 'Lin-Manuel Miranda on Stage',
  console: true,
  desktop: false,
  sound: false,
  acknowledgedBy: null,
  acknowledgedAt: null
}

describe('payload, HMAC and topics', () => {
  it('builds the documented payload', () => {
    const p = buildPayload(alert, 'new', 'd1', 'https://vigil.example/media/')
    expect(p).toMatchObject({
      version: 1,
      type: 'new',
      deliveryId: 'd1',
      alert: {
        id: 'a1',
        at: '2026-11-29T12:00:00.000Z',
        camera: { id: 'cam/1', name: 'Stage' },
        person: { id: 'lin', name: 'Lin-Manuel Miranda' },
        band: 'match',
        score: 0.61,
        crop: { key: 'crops/2026-11-29/a b.jpg', url: 'https://vigil.example/media/crops/2026-11-29/a%20b.jpg' },
        snapshot: null
      }
    })
    expect(buildPayload(alert, 'new', 'd1').alert.crop?.url).toBeNull()
  })
  it('signs timestamp.body with HMAC-SHA256 and verifies in constant time', () => {
    // reference value from `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret`
    const sig = sign('s3cret', '1700000000', '{"a":1}')
    expect(sig).toBe('sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940')
    expect(verifySignature('s3cret', '1700000000', '{"a":1}', sig)).toBe(true)
    expect(verifySignature('s3cret', '1700000001', '{"a":1}', sig)).toBe(false)
    expect(verifySignature('other', '1700000000', '{"a":1}', sig)).toBe(false)
    expect(verifySignature('s3cret', '1700000000', '{"a":1}', 'sha256=00')).toBe(false)
  })
  it('topic segments are safe and discovery points at the right topics', () => {
    expect(topicSegment('cam/1+#')).toBe('cam_1__')
    expect(topics.person('vigil', 'cam/1')).toBe('vigil/cam_1/person')
    expect(topics.status('vigil', 'c')).toBe('vigil/c/status')
    expect(cameraStatusPayload('online')).toBe('online')
    expect(cameraStatusPayload('connecting')).toBe('offline')
    const [sensor, online] = discoveryMessages('vigil', { id: 'c1', name: 'Door' })
    expect(sensor.topic).toBe('homeassistant/sensor/vigil_vigil_c1_last_person/config')
    expect(JSON.parse(sensor.payload)).toMatchObject({ state_topic: 'vigil/c1/person' })
    expect(JSON.parse(online.payload)).toMatchObject({ state_topic: 'vigil/c1/status', device_class: 'connectivity' })
  })
})

describe('request validation', () => {
  const input = {
    name: 'Lin',
    enabled: true,
    trigger: 'face',
    who: { kind: 'people', personIds: ['lin'] },
    bands: ['match'],
    cameraIds: [],
    schedule: null,
    cooldownSec: 300,
    offlineAfterSec: 30,
    onOnline: true,
    onOverload: false,
    actions: { console: true, desktop: true, sound: false, targetIds: [] }
  }
  it('accepts a rule and rejects bad ones with clear messages', () => {
    expect(validateRequest('alertRules.save', input).ok).toBe(true)
    const bad = validateRequest('alertRules.save', { ...input, who: { kind: 'people', personIds: [] } })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.failure.message).toMatch(/at least one person/)
    const sched = validateRequest('alertRules.save', { ...input, schedule: { days: [1], from: '25:00', to: '06:00' } })
    expect(sched.ok).toBe(false)
    if (!sched.ok) expect(sched.failure.message).toMatch(/HH:MM/)
  })
  it('checks target URLs per kind', () => {
    expect(
      validateRequest('alertTargets.save', { name: 'w', kind: 'webhook', enabled: true, url: 'https://x/y' }).ok
    ).toBe(true)
    expect(
      validateRequest('alertTargets.save', { name: 'w', kind: 'webhook', enabled: true, url: 'mqtt://x' }).ok
    ).toBe(false)
    expect(
      validateRequest('alertTargets.save', { name: 'm', kind: 'mqtt', enabled: true, url: 'mqtts://x:8883' }).ok
    ).toBe(true)
  })
})
