// @vitest-environment happy-dom
// The console side of alerts: the store (push merge, acknowledge with the operator, rule save
// through the real request schemas) and the banner (who, where, when; acknowledging removes it).
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setApi } from '../../src/renderer/src/api'
import AlertBanner from '../../src/renderer/src/components/AlertBanner.vue'
import { alertTone, mergeById, newerAlert, newRule, scheduleText, whoText } from '../../src/renderer/src/lib/alerts'
import { useAlertsStore } from '../../src/renderer/src/stores/alerts'
import { useOperatorStore } from '../../src/renderer/src/stores/operator'
import type { AlertRecord, AlertRule } from '../../src/shared/types'
import type { FakeBackend } from './fixtures/fake-api'
import { tinyBackend } from './fixtures/tiny'

let fake: FakeBackend

const alert = (id: string, at: number, over: Partial<AlertRecord> = {}): AlertRecord => ({
  id,
  kind: 'face',
  ruleId: 'r1',
  ruleName: 'Watch list',
  at,
  cameraId: 'c1',
  cameraName: 'Stage',
  eventId: 'e1',
  trackId: 't1',
  personId: 'p1',
  personName: 'Lin-Manuel Miranda',
  band: 'match',
  score: 0.61,
  crop: null,
  snapshot: null,
  message: 'Lin-Manuel Miranda on Stage',
  console: true,
  desktop: false,
  sound: false,
  acknowledgedBy: null,
  acknowledgedAt: null,
  ...over
})

beforeEach(() => {
  window.localStorage.clear()
  window.localStorage.setItem('vigil.operator', 'Ana Lima')
  setActivePinia(createPinia())
  fake = tinyBackend()
  setApi(fake.api)
})
afterEach(() => setApi(null))

describe('alerts lib', () => {
  it('tones follow the one-colour-one-meaning rule', () => {
    expect(alertTone(alert('a', 0))).toBe('match')
    expect(alertTone(alert('a', 0, { band: 'review' }))).toBe('review')
    expect(alertTone(alert('a', 0, { kind: 'camera_offline', band: null }))).toBe('offline')
  })
  it('merge keeps one entry per id, newest first, bounded', () => {
    let list: AlertRecord[] = []
    for (let i = 0; i < 5; i++) list = mergeById(list, alert(String(i), i), newerAlert, 3)
    list = mergeById(list, alert('4', 4, { acknowledgedBy: 'x' }), newerAlert, 3)
    expect(list.map((a) => a.id)).toEqual(['4', '3', '2'])
    expect(list[0].acknowledgedBy).toBe('x')
  })
  it('describes who a rule watches', () => {
    const r = {
      ...newRule(),
      id: 'r',
      createdAt: 0,
      updatedAt: 0,
      who: { kind: 'people', personIds: ['p1', 'gone'] }
    } as AlertRule
    expect(whoText(r, (id) => (id === 'p1' ? 'Lin' : undefined))).toBe('Lin, deleted person (match)')
    expect(
      whoText({ ...r, trigger: 'camera', offlineAfterSec: 30, onOnline: true, onOverload: false }, () => undefined)
    ).toBe('offline > 30 s, back online')
  })

  it('describes when a rule is active', () => {
    expect(scheduleText({ schedule: null })).toBe('always')
    expect(scheduleText({ schedule: { days: [5, 1, 2, 3, 4], from: '08:00', to: '18:00' } })).toBe(
      'Mon–Fri 08:00–18:00'
    )
    expect(scheduleText({ schedule: { days: [0, 6], from: '22:00', to: '06:00' } })).toBe('Sun, Sat 22:00–06:00')
    expect(scheduleText({ schedule: { days: [0, 1, 2, 3, 4, 5, 6], from: '00:00', to: '06:00' } })).toBe(
      'daily 00:00–06:00'
    )
  })
})

describe('alerts store and banner', () => {
  it('a pushed alert shows in the banner; acknowledging records the operator and removes it', async () => {
    const store = useAlertsStore()
    const w = mount(AlertBanner)
    const a = alert('a1', Date.now())
    // the fake engine knows it too, so acknowledge finds it
    fake.state.alerts.push(structuredClone(a))
    store.apply(a)
    await flushPromises()
    const card = w.get('[data-testid="alert-card"]')
    expect(card.text()).toContain('Lin-Manuel Miranda')
    expect(card.text()).toContain('Stage')
    expect(card.text()).toContain('61%')
    await card.get('[data-testid="alert-ack"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="alert-card"]').exists()).toBe(false)
    expect(store.alerts[0]).toMatchObject({ acknowledgedBy: useOperatorStore().name })
    w.unmount()
  })

  it('rules go through the real request schema: a watch list without people is refused', async () => {
    const store = useAlertsStore()
    await expect(store.saveRule({ ...newRule(), name: 'empty' })).rejects.toThrow(/at least one person/)
    const saved = await store.saveRule({ ...newRule(), name: 'Lin', who: { kind: 'people', personIds: ['p1'] } })
    expect(store.rules.map((r) => r.id)).toEqual([saved.id])
  })
})
