// @vitest-environment happy-dom
import { mount, type VueWrapper } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import EventFilters from '../../src/renderer/src/components/EventFilters.vue'
import type { EventQuery } from '../../src/shared/types'

const people = [
  { id: 'p1', name: 'Ana Lima' },
  { id: 'p2', name: 'Bo Chen' }
]
const cameras = [
  { id: 'c1', name: 'Lobby' },
  { id: 'c2', name: 'Dock' }
]
const local = (y: number, mo: number, d: number, h: number, mi: number): number =>
  new Date(y, mo - 1, d, h, mi).getTime()

function mountFilters(initial?: EventQuery): VueWrapper {
  return mount(EventFilters, { props: { people, cameras, ...(initial ? { initial } : {}) } })
}
const last = (w: VueWrapper): EventQuery | undefined => {
  const all = w.emitted('change')
  return all?.[all.length - 1]?.[0] as EventQuery | undefined
}

describe('EventFilters', () => {
  it('lists people and cameras, "any" first', () => {
    const w = mountFilters()
    expect(w.findAll('[data-testid="filter-person"] option').map((o) => o.text())).toEqual([
      'Anyone',
      'Ana Lima',
      'Bo Chen'
    ])
    expect(w.findAll('[data-testid="filter-camera"] option').map((o) => o.text())).toEqual([
      'All cameras',
      'Lobby',
      'Dock'
    ])
  })

  it('emits only the fields that filter something', async () => {
    const w = mountFilters()
    await w.get('[data-testid="filter-person"]').setValue('p2')
    expect(last(w)).toEqual({ personId: 'p2' })
    await w.get('[data-testid="filter-camera"]').setValue('c1')
    await w.get('[data-testid="filter-band"]').setValue('review')
    await w.get('[data-testid="filter-decision"]').setValue('confirmed')
    expect(last(w)).toEqual({ personId: 'p2', cameraId: 'c1', band: 'review', decision: 'confirmed' })
    await w.get('[data-testid="filter-person"]').setValue('')
    expect(last(w)).toEqual({ cameraId: 'c1', band: 'review', decision: 'confirmed' })
  })

  it('turns the local time range into epoch ms, including the whole "to" minute', async () => {
    const w = mountFilters()
    await w.get('[data-testid="filter-from"]').setValue('2026-11-29T08:00')
    await w.get('[data-testid="filter-to"]').setValue('2026-11-29T17:30')
    expect(last(w)).toEqual({ from: local(2026, 11, 29, 8, 0), to: local(2026, 11, 29, 17, 30) + 59_999 })
  })

  it('refuses a reversed range with a message and keeps the last good query', async () => {
    const w = mountFilters()
    await w.get('[data-testid="filter-from"]').setValue('2026-11-29T18:00')
    const before = w.emitted('change')?.length ?? 0
    await w.get('[data-testid="filter-to"]').setValue('2026-11-29T08:00')
    expect(w.emitted('change')?.length ?? 0).toBe(before)
    expect(w.get('[data-testid="filter-error"]').text()).toContain('after')
    await w.get('[data-testid="filter-to"]').setValue('')
    expect(w.find('[data-testid="filter-error"]').exists()).toBe(false)
    expect(last(w)).toEqual({ from: local(2026, 11, 29, 18, 0) })
  })

  it('presets set "from" relative to now, and Clear empties everything', async () => {
    const w = mountFilters()
    const before = Date.now()
    await w.get('[data-testid="filter-preset-24h"]').trigger('click')
    const q = last(w)
    expect(q?.to).toBeUndefined()
    // minute resolution of the picker: within a minute of now − 24 h
    expect(Math.abs((q?.from ?? 0) - (before - 24 * 3_600_000))).toBeLessThan(60_000)
    await w.get('[data-testid="filter-band"]').setValue('unknown')
    await w.get('[data-testid="filter-clear"]').trigger('click')
    expect(last(w)).toEqual({})
  })

  it('starts from the given query and emits nothing until changed', async () => {
    const w = mountFilters({ personId: 'p1', band: 'match', from: local(2026, 1, 2, 3, 4) })
    expect((w.get('[data-testid="filter-person"]').element as HTMLSelectElement).value).toBe('p1')
    expect((w.get('[data-testid="filter-from"]').element as HTMLInputElement).value).toBe('2026-01-02T03:04')
    expect(w.emitted('change')).toBeUndefined()
    await w.get('[data-testid="filter-decision"]').setValue('auto')
    expect(last(w)).toEqual({ personId: 'p1', band: 'match', decision: 'auto', from: local(2026, 1, 2, 3, 4) })
  })
})
