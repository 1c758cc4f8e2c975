// @vitest-environment happy-dom
import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApi } from '../../src/renderer/src/api'
import { clearMediaCache, fetchMedia } from '../../src/renderer/src/composables/useMedia'
import { useEventsStore } from '../../src/renderer/src/stores/events'
import { useOperatorStore } from '../../src/renderer/src/stores/operator'
import { useReviewStore } from '../../src/renderer/src/stores/review'
import { useToastStore } from '../../src/renderer/src/stores/toasts'
import type { FakeBackend } from './fixtures/fake-api'
import { tinyBackend } from './fixtures/tiny'

let fake: FakeBackend

beforeEach(() => {
  window.localStorage.clear()
  window.localStorage.setItem('vigil.operator', 'Ana Lima')
  setActivePinia(createPinia())
  fake = tinyBackend()
  setApi(fake.api)
  clearMediaCache()
})
afterEach(() => {
  setApi(null)
  vi.useRealTimers()
})

describe('review store', () => {
  it('loads pending items newest first with the count', async () => {
    const r = useReviewStore()
    await r.load()
    expect(r.pending).toBe(fake.state.review.length)
    const times = r.items.map((i) => i.createdAt)
    expect([...times].sort((a, b) => b - a)).toEqual(times)
  })

  it('a decision quotes the version and the operator, removes the card and can be undone', async () => {
    const r = useReviewStore()
    await r.load()
    const item = r.items[0]
    if (!item) throw new Error('no item')
    const spy = vi.spyOn(fake.api, 'reviewDecide')
    await r.decide(item, { action: 'confirm' })
    expect(spy).toHaveBeenCalledWith(
      expect.objectContaining({
        itemId: item.id,
        version: item.version,
        operator: 'Ana Lima',
        action: 'confirm',
        addToGallery: true
      })
    )
    expect(r.items.some((i) => i.id === item.id)).toBe(false)
    expect(r.pending).toBe(fake.state.review.length - 1)
    expect(useToastStore().toasts.at(-1)?.text).toMatch(/^Confirmed as /)

    await r.undo()
    expect(r.items.find((i) => i.id === item.id)?.status).toBe('pending')
    expect(r.pending).toBe(fake.state.review.length)
  })

  it('reject never asks to add the face to the gallery', async () => {
    const r = useReviewStore()
    await r.load()
    const spy = vi.spyOn(fake.api, 'reviewDecide')
    await r.decide(r.items[0] as (typeof r.items)[number], { action: 'reject' })
    expect(spy.mock.calls[0]?.[0].addToGallery).toBeUndefined()
  })

  it('a conflict keeps the card, refreshed, with who decided and when', async () => {
    const r = useReviewStore()
    await r.load()
    const item = r.items[1]
    if (!item) throw new Error('no item')
    fake.otherOperatorDecides(item.id, 'Marta Ruiz')
    const res = await r.decide(item, { action: 'reject' })
    expect(res).toBeNull()
    expect(r.notices[item.id]?.kind).toBe('conflict')
    expect(r.notices[item.id]?.text).toMatch(/^Already decided by Marta Ruiz at \d\d:\d\d \(confirmed\)\.$/)
    await flushPromises()
    const card = r.items.find((i) => i.id === item.id)
    expect(card?.status).toBe('confirmed')
    expect(r.pending).toBe(fake.state.review.length - 1)
    // Nothing was overwritten: the other operator's decision stands.
    expect(fake.state.review.find((i) => i.id === item.id)?.decidedBy).toBe('Marta Ruiz')
    r.dismissNotice(item.id)
    expect(r.items.some((i) => i.id === item.id)).toBe(false)
  })

  it('without an operator name nothing is sent and the name is asked for', async () => {
    window.localStorage.clear()
    setActivePinia(createPinia())
    const r = useReviewStore()
    await r.load()
    const spy = vi.spyOn(fake.api, 'reviewDecide')
    await r.decide(r.items[0] as (typeof r.items)[number], { action: 'confirm' })
    expect(spy).not.toHaveBeenCalled()
    expect(useOperatorStore().asking).toBe(true)
  })

  it('other errors are shown on the card and lose nothing', async () => {
    const r = useReviewStore()
    await r.load()
    const item = r.items[0] as (typeof r.items)[number]
    await r.decide(item, { action: 'reassign', personId: 'no-such-person' })
    expect(r.notices[item.id]).toMatchObject({ kind: 'error', text: expect.stringContaining('no person') })
    expect(r.items.some((i) => i.id === item.id)).toBe(true)
  })
})

describe('events store', () => {
  it('pages through the filtered set and counts live arrivals instead of moving rows', async () => {
    const ev = useEventsStore()
    await ev.setFilters({ band: 'match' })
    const total = ev.page?.total ?? 0
    expect(total).toBe(fake.state.events.filter((e) => e.band === 'match').length)
    expect(ev.page?.items.every((e) => e.band === 'match')).toBe(true)
    expect(ev.stats?.confidenceHistogram).toHaveLength(20)
    await ev.setOffset(50)
    expect(ev.page?.offset).toBe(50)
    const shown = ev.page?.items[0]
    if (!shown) throw new Error('empty page')
    ev.noteUpserted({ ...shown, decision: 'confirmed' })
    expect(ev.page?.items[0]?.decision).toBe('confirmed')
    ev.noteUpserted({ ...shown, id: 'brand-new' })
    expect(ev.newSince).toBe(1)
  })
})

describe('toasts', () => {
  it('expire, errors last longer, repeats replace each other', () => {
    vi.useFakeTimers()
    const t = useToastStore()
    t.info('hello')
    t.error(new Error('boom'), 'Could not load')
    t.error(new Error('boom'), 'Could not load')
    expect(t.toasts.map((x) => x.text)).toEqual(['hello', 'Could not load: boom'])
    vi.advanceTimersByTime(5_000)
    expect(t.toasts.map((x) => x.text)).toEqual(['Could not load: boom'])
    vi.advanceTimersByTime(7_000)
    expect(t.toasts).toEqual([])
  })
})

describe('media cache', () => {
  it('fetches each key once, and retries failures', async () => {
    const spy = vi.spyOn(fake.api, 'mediaGet')
    const [a, b] = await Promise.all([fetchMedia('crops/a.png'), fetchMedia('crops/a.png')])
    expect(a).toBe(b)
    expect(spy).toHaveBeenCalledTimes(1)
    await expect(fetchMedia('crops/missing.png')).rejects.toMatchObject({ code: 'not_found' })
    await expect(fetchMedia('crops/missing.png')).rejects.toMatchObject({ code: 'not_found' })
    expect(spy).toHaveBeenCalledTimes(3)
  })
})
