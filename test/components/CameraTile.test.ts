// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import CameraTile from '../../src/renderer/src/components/CameraTile.vue'
import type { CameraState, CameraView, FrameOverlay } from '../../src/shared/types'
import { PIXEL } from './fixtures/tiny'

const NOW = 1_000_000
const camera = (state: CameraState, over: Partial<CameraView> = {}): CameraView => ({
  id: 'c1',
  name: 'Lobby',
  urlRedacted: 'rtsp://u:***@h/s',
  enabled: state !== 'disabled',
  detectFps: 5,
  maxDetectWidth: 960,
  minFaceSize: 40,
  loop: false,
  status: {
    cameraId: 'c1',
    state,
    reason: state === 'error' ? 'authentication failed' : null,
    fps: 4.86,
    lastFrameAt: null,
    width: 640,
    height: 360,
    decoder: 'h264 · software, 1 thread',
    restarts: 0
  },
  ...over
})
const preview = (receivedAt: number) => ({ url: PIXEL, at: 0, receivedAt })
const overlay = (receivedAt: number): { overlay: FrameOverlay; receivedAt: number } => ({
  overlay: {
    cameraId: 'c1',
    at: 0,
    width: 640,
    height: 360,
    tracks: [
      { trackId: 'a', box: { x: 10, y: 40, w: 50, h: 50 }, band: 'match', personId: 'p', name: 'Ana', score: 0.8 },
      { trackId: 'b', box: { x: 300, y: 40, w: 50, h: 50 }, band: 'unknown', personId: null, name: null, score: 0.1 }
    ]
  },
  receivedAt
})

describe('CameraTile', () => {
  it('says when the engine is overloaded for this camera, and stops saying it when it recovers', async () => {
    const load = { cameraId: 'c1', analysedFps: 2.1, offeredFps: 5, overloaded: true }
    const w = mount(CameraTile, { props: { camera: camera('online'), preview: preview(NOW), now: NOW, load } })
    expect(w.get('[data-testid="tile-overload"]').text()).toBe('overloaded: analysing 2.1 of 5 fps')
    await w.setProps({ load: { ...load, analysedFps: 5, overloaded: false } })
    expect(w.find('[data-testid="tile-overload"]').exists()).toBe(false)
  })

  it('shows the live picture, the status with fps, and a count per band', () => {
    const w = mount(CameraTile, {
      props: { camera: camera('online'), preview: preview(NOW), overlay: overlay(NOW), now: NOW }
    })
    expect(w.get('img').attributes('src')).toBe(PIXEL)
    expect(w.text()).not.toContain('Waiting for video')
    expect(w.get('[data-testid="camera-status"]').text()).toContain('online')
    expect(w.get('[data-testid="camera-status"]').text()).toContain('4.9 fps')
    expect(w.get('.chip-match').text()).toBe('1')
    expect(w.get('.chip-unknown').text()).toBe('1')
  })

  it('says why there is no picture', () => {
    expect(mount(CameraTile, { props: { camera: camera('connecting'), now: NOW } }).text()).toContain(
      'Waiting for video'
    )
    const err = mount(CameraTile, { props: { camera: camera('error'), now: NOW } })
    expect(err.text()).toContain('No signal')
    expect(err.get('[data-state="error"]').text()).toContain('authentication failed')
    expect(err.classes()).toContain('trouble')
    expect(
      mount(CameraTile, { props: { camera: camera('disabled'), preview: preview(NOW), now: NOW } }).text()
    ).toContain('Camera disabled')
  })

  it('drops boxes of faces that have left and flags a frozen picture', () => {
    const w = mount(CameraTile, {
      props: { camera: camera('online'), preview: preview(NOW - 8000), overlay: overlay(NOW - 2000), now: NOW }
    })
    expect(w.find('img').exists()).toBe(true)
    expect(w.get('[data-testid="tile-frozen"]').text()).toBe('No new picture for 8 s')
    expect(w.findAll('[data-testid="tile-box"]')).toHaveLength(0)
    expect(w.find('.chip-match').exists()).toBe(false)
  })

  it('click and Enter ask to enlarge', async () => {
    const w = mount(CameraTile, { props: { camera: camera('online'), now: NOW } })
    await w.trigger('click')
    await w.trigger('keydown', { key: 'Enter' })
    expect(w.emitted('select')).toEqual([['c1'], ['c1']])
  })
})
