// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { setApi } from '../../src/renderer/src/api'
import ReviewCard from '../../src/renderer/src/components/ReviewCard.vue'
import { clearMediaCache } from '../../src/renderer/src/composables/useMedia'
import type { Decision } from '../../src/renderer/src/stores/review'
import type { Person, ReviewItem } from '../../src/shared/types'
import { tinyBackend } from './fixtures/tiny'

let people: Person[]
let item: ReviewItem
const mounted: VueWrapper[] = []

beforeEach(() => {
  const fake = tinyBackend()
  setApi(fake.api)
  clearMediaCache()
  people = structuredClone(fake.state.people)
  item = structuredClone(fake.state.review[0] as ReviewItem)
})
afterEach(() => {
  // Unmount so the window key listeners of earlier cards do not answer later tests' keys.
  for (const w of mounted.splice(0)) w.unmount()
  setApi(null)
  document.body.innerHTML = ''
})

function mountCard(props: Partial<InstanceType<typeof ReviewCard>['$props']> = {}): VueWrapper {
  const w = mount(ReviewCard, {
    props: { item, people, cameraName: 'Lobby', active: true, thresholds: { accept: 0.5, review: 0.35 }, ...props },
    attachTo: document.body
  })
  mounted.push(w)
  return w
}
const decisions = (w: VueWrapper): Decision[] => (w.emitted('decide') ?? []).map((e) => e[0] as Decision)
const key = (k: string, target: EventTarget = window): void => {
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }))
}

describe('ReviewCard', () => {
  it('shows the crop, the snapshot, the proposal and the top candidates with %', async () => {
    const w = mountCard()
    await flushPromises()
    expect(w.get('[data-testid="proposed-name"]').text()).toBe(`${item.candidates[0]?.name}?`)
    const cands = w.findAll('[data-testid="candidate-btn"]')
    expect(cands).toHaveLength(3)
    expect(cands[0]?.text()).toContain(`${Math.round((item.candidates[0]?.score ?? 0) * 100)}%`)
    expect(w.findAll('img').length).toBeGreaterThanOrEqual(2)
  })

  it("colours a candidate's bar by that person's own threshold, as the engine bands it", async () => {
    const c = item.candidates[0]!
    item.candidates[0] = { ...c, score: 0.44 }
    people = people.map((p) => (p.id === c.personId ? { ...p, threshold: 0.55 } : p))
    const w = mountCard({ item, people, thresholds: { accept: 0.4, review: 0.3 } })
    const bar = w.findAll('[data-testid="candidate-btn"] .meter > span')[0]!
    // 44 % passes the global 40 % accept but not this person's 55 %: amber (review), not green
    expect(bar.attributes('style')).toContain('var(--c-review)')
  })

  it('buttons emit confirm and reject', async () => {
    const w = mountCard()
    await w.get('[data-testid="confirm-btn"]').trigger('click')
    await w.get('[data-testid="reject-btn"]').trigger('click')
    expect(decisions(w)).toEqual([{ action: 'confirm' }, { action: 'reject' }])
  })

  it('picking the proposed candidate confirms, picking another reassigns to them', async () => {
    const w = mountCard()
    const cands = w.findAll('[data-testid="candidate-btn"]')
    await cands[0]?.trigger('click')
    await cands[1]?.trigger('click')
    expect(decisions(w)).toEqual([
      { action: 'confirm' },
      { action: 'reassign', personId: item.candidates[1]?.personId }
    ])
  })

  it('reassign searches the gallery and emits the chosen person', async () => {
    const w = mountCard()
    await w.get('[data-testid="reassign-btn"]').trigger('click')
    await w.get('[data-testid="reassign-search"]').setValue('eze')
    const opts = w.findAll('[data-testid="reassign-option"]')
    expect(opts.map((o) => o.text())).toEqual(['Di Eze'])
    await opts[0]?.trigger('click')
    const di = people.find((p) => p.name === 'Di Eze')
    expect(decisions(w)).toEqual([{ action: 'reassign', personId: di?.id }])
  })

  it('new person needs a name that is not taken, then emits it', async () => {
    const w = mountCard()
    await w.get('[data-testid="new-person-btn"]').trigger('click')
    const input = w.get('[data-testid="new-person-input"]')
    await w.get('[data-testid="new-person-submit"]').trigger('submit')
    expect(w.text()).toContain('Type the name')
    await input.setValue('ana lima')
    await input.trigger('submit')
    expect(w.text()).toContain('already exists')
    await input.setValue('  Zoe Quinn ')
    await w.get('form').trigger('submit')
    expect(decisions(w)).toEqual([{ action: 'newPerson', newPersonName: 'Zoe Quinn' }])
  })

  it('keyboard: Enter/C confirm, R/X reject, 1–3 pick, N and A open their forms', async () => {
    const w = mountCard()
    for (const k of ['Enter', 'c', 'r', 'x', '2']) key(k)
    expect(decisions(w)).toEqual([
      { action: 'confirm' },
      { action: 'confirm' },
      { action: 'reject' },
      { action: 'reject' },
      { action: 'reassign', personId: item.candidates[1]?.personId }
    ])
    key('n')
    await flushPromises()
    expect(w.find('[data-testid="new-person-input"]').exists()).toBe(true)
  })

  it('keys typed into the new-person field are text, not shortcuts', async () => {
    const w = mountCard()
    key('n')
    await flushPromises()
    const input = w.get('[data-testid="new-person-input"]').element
    key('c', input)
    key('r', input)
    expect(decisions(w)).toEqual([])
  })

  it('only the active card reacts to shortcuts, and not while a dialog is open', async () => {
    const w = mountCard({ active: false })
    key('c')
    expect(decisions(w)).toEqual([])
    await w.setProps({ active: true })
    const dlg = document.createElement('div')
    dlg.setAttribute('role', 'dialog')
    dlg.setAttribute('aria-modal', 'true')
    document.body.appendChild(dlg)
    key('c')
    expect(decisions(w)).toEqual([])
    dlg.remove()
    key('c')
    expect(decisions(w)).toEqual([{ action: 'confirm' }])
  })

  it('does not decide twice while a decision is in flight', async () => {
    const w = mountCard({ busy: true })
    key('c')
    await w.get('[data-testid="reject-btn"]').trigger('click')
    expect(decisions(w)).toEqual([])
    expect(w.get('[data-testid="confirm-btn"]').attributes('disabled')).toBeDefined()
  })

  it('shows a conflict clearly; a card decided elsewhere is read-only and can be dismissed', async () => {
    const decided: ReviewItem = {
      ...item,
      status: 'confirmed',
      decidedBy: 'Marta',
      decidedAt: Date.now(),
      version: item.version + 1
    }
    const w = mountCard({
      item: decided,
      notice: { kind: 'conflict', text: 'Already decided by Marta at 14:03 (confirmed).' }
    })
    const notice = w.get('[data-testid="review-notice"]')
    expect(notice.attributes('role')).toBe('alert')
    expect(notice.text()).toContain('Conflict')
    expect(notice.text()).toContain('Already decided by Marta at 14:03')
    expect(w.get('[data-testid="confirm-btn"]').attributes('disabled')).toBeDefined()
    expect(w.get('[data-testid="reject-btn"]').attributes('disabled')).toBeDefined()
    key('c')
    expect(decisions(w)).toEqual([])
    await w.get('[data-testid="dismiss-btn"]').trigger('click')
    expect(w.emitted('dismiss')).toHaveLength(1)
  })
})
