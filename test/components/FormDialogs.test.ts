// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import CameraEditor from '../../src/renderer/src/components/CameraEditor.vue'
import PersonEditor from '../../src/renderer/src/components/PersonEditor.vue'
import type { CameraInput, PersonInput } from '../../src/shared/api'
import { ApiError } from '../../src/shared/api'

const mounted: VueWrapper[] = []
const keep = (w: VueWrapper): VueWrapper => (mounted.push(w), w)
afterEach(() => {
  for (const w of mounted.splice(0)) w.unmount()
})

/** The footer's submit button sits outside the <form>: it must name the form it sends. */
function expectSubmitTiedToForm(w: VueWrapper, testid: string): void {
  const id = w.get('form').attributes('id')
  expect(id).toBeTruthy()
  expect(w.get(`[data-testid="${testid}"]`).attributes('form')).toBe(id)
}

describe('PersonEditor', () => {
  it('asks for a name, shows why a save failed, and closes once saved', async () => {
    const saved: PersonInput[] = []
    let reject: Error | null = new ApiError('conflict', 'A person named Bo Chen already exists.')
    const save = async (input: PersonInput): Promise<void> => {
      if (reject) throw reject
      saved.push(input)
    }
    const w = keep(
      mount(PersonEditor, { props: { open: true, person: null, globalAccept: 0.6, save }, attachTo: document.body })
    )
    expectSubmitTiedToForm(w, 'save-person')
    expect(w.get('[data-testid="save-person"]').text()).toBe('Add person')
    await w.get('form').trigger('submit')
    expect(w.get('[data-testid="person-form-error"]').text()).toBe('The name is required.')
    await w.get('[data-testid="person-name-input"]').setValue(' Bo Chen ')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="person-form-error"]').text()).toBe('A person named Bo Chen already exists.')
    expect(w.emitted('close')).toBeUndefined()
    reject = null
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(saved).toEqual([{ name: 'Bo Chen', notes: '', threshold: null }])
    expect(w.find('[data-testid="person-form-error"]').exists()).toBe(false)
    expect(w.emitted('close')).toHaveLength(1)
  })

  it('Cancel closes without saving', async () => {
    let calls = 0
    const w = keep(
      mount(PersonEditor, {
        props: { open: true, person: null, globalAccept: null, save: async () => void calls++ },
        attachTo: document.body
      })
    )
    const cancel = w.findAll('button').find((b) => b.text() === 'Cancel')
    await cancel?.trigger('click')
    expect(w.emitted('close')).toHaveLength(1)
    expect(calls).toBe(0)
  })
})

describe('CameraEditor', () => {
  it('leaves checking to its own messages (no browser bubbles) and sends the URL only when typed', async () => {
    const saved: Partial<CameraInput>[] = []
    const w = keep(
      mount(CameraEditor, {
        props: {
          open: true,
          camera: null,
          save: async (input: Partial<CameraInput>) => void saved.push(input),
          test: async () => ({ ok: true, width: 640, height: 360, preview: null, error: null })
        },
        attachTo: document.body
      })
    )
    expectSubmitTiedToForm(w, 'save-camera')
    expect(w.get('form').attributes('novalidate')).toBeDefined()
    await w.get('[data-testid="camera-name-input"]').setValue('Lobby')
    await w.get('form').trigger('submit')
    expect(w.get('[data-testid="camera-form-error"]').text()).toBe('Enter the camera URL.')
    await w.get('[data-testid="camera-url-input"]').setValue(' rtsp://cam/1 ')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(saved).toEqual([
      {
        name: 'Lobby',
        url: 'rtsp://cam/1',
        enabled: true,
        detectFps: 5,
        maxDetectWidth: 960,
        minFaceSize: 40,
        loop: false,
        important: false,
        hwaccel: 'auto',
        keyframesOnly: false,
        detectTiles: 1
      }
    ])
    expect(w.emitted('close')).toHaveLength(1)
  })
})
