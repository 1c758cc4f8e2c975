// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick, reactive, readonly } from 'vue'
import OperatorDialog from '../../src/renderer/src/components/OperatorDialog.vue'
import TokenDialog from '../../src/renderer/src/components/TokenDialog.vue'
import { useOperatorStore } from '../../src/renderer/src/stores/operator'

// The token dialog reads the prompt state the transport keeps; a stand-in lets the test open it.
type PromptState = { open: boolean; reason: 'required' | 'rejected' }
const prompt = vi.hoisted(() => ({ state: { open: false, reason: 'required' } as PromptState, sent: [] as string[] }))
vi.mock('../../src/renderer/src/api', async (orig) => {
  const real = await orig<Record<string, unknown>>()
  prompt.state = reactive(prompt.state)
  return {
    ...real,
    tokenPrompt: readonly(prompt.state),
    submitToken: (t: string): void => {
      prompt.sent.push(t)
      prompt.state.open = false
    }
  }
})

const mounted: VueWrapper[] = []
const keep = (w: VueWrapper): VueWrapper => (mounted.push(w), w)

beforeEach(() => {
  window.localStorage.clear()
  setActivePinia(createPinia())
})
afterEach(() => {
  for (const w of mounted.splice(0)) w.unmount()
})

describe('OperatorDialog', () => {
  it('asks a new operator for a name, refuses a blank one, and cannot be dismissed before one is given', async () => {
    const w = keep(mount(OperatorDialog, { attachTo: document.body }))
    await flushPromises()
    const submit = w.get('[data-testid="operator-submit"]')
    expect(submit.attributes('disabled')).toBeDefined()
    expect(w.find('.dlg-x').exists()).toBe(false)
    await w.get('[data-testid="operator-input"]').setValue('   ')
    expect(submit.attributes('disabled')).toBeDefined()
    await w.get('[data-testid="operator-input"]').setValue('  Ana Lima ')
    expect(submit.attributes('disabled')).toBeUndefined()
    await w.get('form').trigger('submit')
    expect(useOperatorStore().name).toBe('Ana Lima')
    expect(w.find('[data-testid="operator-input"]').exists()).toBe(false)
  })

  it('offers the current name when asked again, and Esc keeps it', async () => {
    window.localStorage.setItem('vigil.operator', 'Bo Chen')
    const w = keep(mount(OperatorDialog, { attachTo: document.body }))
    const op = useOperatorStore()
    op.ask()
    await flushPromises()
    const input = w.get('[data-testid="operator-input"]').element as HTMLInputElement
    expect(input.value).toBe('Bo Chen')
    expect(input.maxLength).toBe(200)
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    await nextTick()
    expect(op.asking).toBe(false)
    expect(op.name).toBe('Bo Chen')
  })
})

describe('TokenDialog', () => {
  it('says when a token was rejected, ignores a blank one and sends the trimmed token once', async () => {
    const state = prompt.state
    Object.assign(state, { open: true, reason: 'rejected' })
    const w = keep(mount(TokenDialog, { attachTo: document.body }))
    await flushPromises()
    expect(w.find('[data-testid="token-rejected"]').exists()).toBe(true)
    expect(w.find('.dlg-x').exists()).toBe(false)
    const input = w.get('[data-testid="token-input"]')
    expect(input.attributes('type')).toBe('password')
    expect(input.attributes('autocomplete')).toBe('off')
    await w.get('form').trigger('submit')
    expect(prompt.sent).toEqual([])
    await input.setValue(' s3cret ')
    await w.get('form').trigger('submit')
    expect(prompt.sent).toEqual(['s3cret'])
    expect(w.find('[data-testid="token-input"]').exists()).toBe(false)
    state.reason = 'required'
    state.open = true
    await nextTick()
    expect(w.find('[data-testid="token-rejected"]').exists()).toBe(false)
    expect((w.get('[data-testid="token-input"]').element as HTMLInputElement).value).toBe('')
  })
})
