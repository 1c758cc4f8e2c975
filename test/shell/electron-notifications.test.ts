// Desktop notifications of the Electron app: one per new alert whose rule asks for it (silent: the
// console plays the rule's sound), none for acknowledgements; a click focuses the window.
import { describe, expect, it, vi } from 'vitest'
import type { AlertRecord } from '../../src/shared/types'

const shown: { title: string; body: string; silent: boolean; click?: () => void }[] = []
vi.mock('electron', () => ({
  Notification: class {
    static isSupported = (): boolean => true
    private readonly entry: (typeof shown)[number]
    constructor(o: { title: string; body: string; silent: boolean }) {
      this.entry = { ...o }
    }
    on(event: string, fn: () => void): void {
      if (event === 'click') this.entry.click = fn
    }
    show(): void {
      shown.push(this.entry)
    }
  }
}))

const { forwardAlertNotifications } = await import('../../src/main/electron/notifications')
const { fakeBackend } = await import('./fake-backend')

const alert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 'a1',
  kind: 'face',
  ruleId: 'r1',
  ruleName: 'Watch list',
  at: Date.UTC(2026, 10, 29, 20, 0, 0),
  cameraId: 'c1',
  cameraName: 'Stage',
  eventId: 'e1',
  trackId: 't1',
  personId: 'p1',
  personName: 'Lin-Manuel Miranda',
  band: 'match',
  score: 0.6,
  crop: null,
  snapshot: null,
  message: 'Lin-Manuel Miranda on Stage (match, 60 %)',
  console: true,
  desktop: true,
  sound: false,
  acknowledgedBy: null,
  acknowledgedAt: null,
  ...over
})

describe('Electron alert notifications', () => {
  it('notifies new alerts that ask for it, not acknowledgements or rules without desktop', () => {
    const b = fakeBackend()
    let focused = 0
    const off = forwardAlertNotifications(b, () => focused++)
    b.emit('alert.changed', alert())
    b.emit('alert.changed', alert({ id: 'a2', desktop: false }))
    b.emit('alert.changed', alert({ acknowledgedBy: 'ana', acknowledgedAt: 1 }))
    b.emit('alert.changed', alert({ id: 'a3', sound: true }))
    expect(shown.map((n) => n.silent)).toEqual([true, true])
    expect(shown[0].title).toBe('Vigil: Watch list')
    expect(shown[0].body).toContain('Lin-Manuel Miranda on Stage')
    shown[0].click?.()
    expect(focused).toBe(1)
    off()
    b.emit('alert.changed', alert({ id: 'a4' }))
    expect(shown).toHaveLength(2)
  })
})
