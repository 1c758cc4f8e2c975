// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApi } from '../../src/renderer/src/api'
import PhotoUploader from '../../src/renderer/src/components/PhotoUploader.vue'
import { usePeopleStore } from '../../src/renderer/src/stores/people'
import type { FakeBackend } from './fixtures/fake-api'
import { tinyBackend } from './fixtures/tiny'

let fake: FakeBackend
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const file = (name: string, type = 'image/png'): File => new File([PNG], name, { type })

beforeEach(() => {
  setActivePinia(createPinia())
  fake = tinyBackend()
  setApi(fake.api)
  // happy-dom has no object URLs for File
  URL.createObjectURL = vi.fn(() => 'blob:preview')
  URL.revokeObjectURL = vi.fn()
})
afterEach(() => setApi(null))

async function mountFor(personIndex = 0): Promise<{ w: VueWrapper; personId: string }> {
  const people = usePeopleStore()
  await people.load()
  const p = people.sorted[personIndex]
  if (!p) throw new Error('no person')
  const w = mount(PhotoUploader, { props: { personId: p.id, personName: p.name } })
  return { w, personId: p.id }
}

async function pick(w: VueWrapper, testid: string, files: File[]): Promise<void> {
  const input = w.get(`[data-testid="${testid}"]`)
  Object.defineProperty(input.element, 'files', { value: files, configurable: true })
  await input.trigger('change')
}

async function settle(w: VueWrapper): Promise<void> {
  await vi.waitFor(() => expect(w.findAll('[data-state="queued"], [data-state="uploading"]')).toHaveLength(0), {
    timeout: 5000
  })
  await flushPromises()
}

const states = (w: VueWrapper): [string, string][] =>
  w
    .findAll('[data-testid="upload-item"]')
    .map((li) => [li.get('.fname').text(), `${li.attributes('data-state')}:${li.attributes('data-code')}`])

describe('PhotoUploader', () => {
  it('uploads one at a time and reports each outcome in words', async () => {
    const { w, personId } = await mountFor()
    const original = fake.api.peopleAddPhoto
    let concurrent = 0
    let maxConcurrent = 0
    const spy = vi.spyOn(fake.api, 'peopleAddPhoto').mockImplementation(async (input) => {
      concurrent++
      maxConcurrent = Math.max(maxConcurrent, concurrent)
      try {
        return await original(input)
      } finally {
        concurrent--
      }
    })
    const before = usePeopleStore().byId.get(personId)?.photos.length ?? 0
    await pick(w, 'photo-input', [
      file('a.png'),
      file('noface.png'),
      file('blurry.png'),
      file('notes.txt', 'text/plain')
    ])
    expect(w.find('[data-testid="upload-progress"]').exists()).toBe(true)
    await settle(w)
    expect(maxConcurrent).toBe(1)
    expect(states(w)).toEqual([
      ['a.png', 'ok:'],
      ['noface.png', 'failed:no_face'],
      ['blurry.png', 'failed:low_quality'],
      ['notes.txt', 'failed:bad_image']
    ])
    expect(w.text()).toContain('No face found')
    expect(w.text()).toContain('Not an image file')
    expect(w.get('[data-testid="upload-summary"]').text()).toBe('1 added, 3 not added')
    // the text file never reached the engine
    expect(spy).toHaveBeenCalledTimes(3)
    expect(usePeopleStore().byId.get(personId)?.photos.length).toBe(before + 1)
    expect(w.find('[data-testid="upload-progress"]').exists()).toBe(false)
  })

  it('several faces: the operator picks one and the upload is retried with faceIndex', async () => {
    const { w } = await mountFor()
    const spy = vi.spyOn(fake.api, 'peopleAddPhoto')
    await pick(w, 'photo-input', [file('group.jpg', 'image/jpeg')])
    await settle(w)
    expect(states(w)).toEqual([['group.jpg', 'choose:multiple_faces']])
    const faces = w.findAll('[data-testid="face-option"]')
    expect(faces.length).toBe(0) // the SVG appears once the image has loaded; the buttons are always there
    const buttons = w.findAll('[data-testid="face-chooser"] button.pick')
    expect(buttons.map((b) => b.text())).toEqual([
      'Face 1 (90 px)',
      'Face 2 (90 px)',
      'Face 3 (90 px)',
      'Skip this photo'
    ])
    await buttons[1]?.trigger('click')
    await settle(w)
    expect(spy.mock.calls.at(-1)?.[0]).toMatchObject({ fileName: 'group.jpg', faceIndex: 1 })
    expect(states(w)).toEqual([['group.jpg', 'ok:']])
  })

  it('a busy engine (error as the Electron bridge delivers it) can be retried', async () => {
    const { w } = await mountFor()
    const spy = vi.spyOn(fake.api, 'peopleAddPhoto').mockRejectedValueOnce(new Error('[busy] queue full'))
    await pick(w, 'photo-input', [file('a.png')])
    await settle(w)
    expect(states(w)).toEqual([['a.png', 'failed:busy']])
    await w.get('[data-testid="upload-item"] button').trigger('click')
    await settle(w)
    expect(states(w)).toEqual([['a.png', 'ok:']])
    expect(spy).toHaveBeenCalledTimes(2)
  })

  it('a folder import skips non-images quietly but says how many', async () => {
    const { w } = await mountFor()
    await pick(w, 'folder-input', [
      file('a.png'),
      file('Thumbs.db', ''),
      file('readme.txt', 'text/plain'),
      file('b.png')
    ])
    await settle(w)
    expect(states(w).map((s) => s[0])).toEqual(['a.png', 'b.png'])
    expect(w.text()).toContain('2 files in the folder skipped: not images.')
  })

  it('uploads still queued when the panel closes are reported, not silently dropped', async () => {
    const { w } = await mountFor()
    const people = usePeopleStore()
    await pick(w, 'photo-input', [file('a.png'), file('b.png'), file('c.png')])
    w.unmount()
    await flushPromises()
    const { useToastStore } = await import('../../src/renderer/src/stores/toasts')
    expect(useToastStore().toasts.at(-1)?.text).toMatch(/stopped: 2 photos were not sent/)
    expect(people.loaded).toBe(true)
  })
})
