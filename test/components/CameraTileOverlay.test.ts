// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import CameraTileOverlay from '../../src/renderer/src/components/CameraTileOverlay.vue'
import type { FrameOverlay, TrackOverlay } from '../../src/shared/types'

const track = (over: Partial<TrackOverlay>): TrackOverlay => ({
  trackId: 't1',
  box: { x: 100, y: 50, w: 60, h: 80 },
  band: 'match',
  personId: 'p1',
  name: 'Ana Lima',
  score: 0.874,
  ...over
})
const overlay = (tracks: TrackOverlay[], width = 640, height = 360): FrameOverlay => ({ cameraId: 'c1', at: 0, width, height, tracks })

function px(v: string): number {
  return Number(v.replace('px', ''))
}

describe('CameraTileOverlay', () => {
  it('scales source-pixel boxes into a letterboxed tile (object-fit: contain)', () => {
    // 640×360 into 320×240: scale 0.5, image 320×180, centred with 30 px bars above and below.
    const w = mount(CameraTileOverlay, { props: { overlay: overlay([track({})]), width: 320, height: 240 } })
    const box = w.get('[data-testid="tile-box"]').element as HTMLElement
    expect(px(box.style.left)).toBeCloseTo(50)
    expect(px(box.style.top)).toBeCloseTo(30 + 25)
    expect(px(box.style.width)).toBeCloseTo(30)
    expect(px(box.style.height)).toBeCloseTo(40)
  })

  it('pillarboxes a tall tile horizontally', () => {
    // 640×360 into 400×400: scale 0.625, image 400×225, offset y = 87.5.
    const w = mount(CameraTileOverlay, { props: { overlay: overlay([track({ box: { x: 0, y: 0, w: 64, h: 36 } })]), width: 400, height: 400 } })
    const box = w.get('[data-testid="tile-box"]').element as HTMLElement
    expect(px(box.style.left)).toBeCloseTo(0)
    expect(px(box.style.top)).toBeCloseTo(87.5)
    expect(px(box.style.width)).toBeCloseTo(40)
  })

  it('clips boxes that run past the frame edge', () => {
    const w = mount(CameraTileOverlay, { props: { overlay: overlay([track({ box: { x: 600, y: 340, w: 100, h: 100 } })]), width: 640, height: 360 } })
    const box = w.get('[data-testid="tile-box"]').element as HTMLElement
    expect(px(box.style.width)).toBeCloseTo(40)
    expect(px(box.style.height)).toBeCloseTo(20)
  })

  it('colours each box by its band, using the one CSS variable per band', () => {
    const w = mount(CameraTileOverlay, {
      props: {
        overlay: overlay([
          track({ trackId: 'a', band: 'match' }),
          track({ trackId: 'b', band: 'review', box: { x: 300, y: 100, w: 50, h: 50 } }),
          track({ trackId: 'c', band: 'unknown', name: null, personId: null, box: { x: 500, y: 100, w: 50, h: 50 } })
        ]),
        width: 640,
        height: 360
      }
    })
    const boxes = w.findAll('[data-testid="tile-box"]')
    expect(boxes.map((b) => b.attributes('data-band'))).toEqual(['match', 'review', 'unknown'])
    expect(boxes.map((b) => (b.element as HTMLElement).style.borderColor)).toEqual(['var(--c-match)', 'var(--c-review)', 'var(--c-unknown)'])
    const labels = w.findAll('[data-testid="tile-box-label"]')
    expect(labels.map((l) => (l.element as HTMLElement).style.background)).toEqual(['var(--c-match)', 'var(--c-review)', 'var(--c-unknown)'])
  })

  it('labels with the name and a whole percentage; tentative names get a "?", unknown faces no name', () => {
    const w = mount(CameraTileOverlay, {
      props: {
        overlay: overlay([
          track({ trackId: 'a', band: 'match', name: 'Ana Lima', score: 0.874 }),
          track({ trackId: 'b', band: 'review', name: 'Bo Chen', score: 0.42, box: { x: 300, y: 100, w: 50, h: 50 } }),
          track({ trackId: 'c', band: 'unknown', name: null, score: 0.21, box: { x: 500, y: 100, w: 50, h: 50 } })
        ]),
        width: 640,
        height: 360
      }
    })
    expect(w.findAll('[data-testid="tile-box-label"]').map((l) => l.text())).toEqual(['Ana Lima 87%', 'Bo Chen? 42%', 'Unknown 21%'])
  })

  it('puts the label under the box when the face touches the top of the picture, inside when it fills it', () => {
    const top = mount(CameraTileOverlay, { props: { overlay: overlay([track({ box: { x: 10, y: 2, w: 60, h: 60 } })]), width: 640, height: 360 } })
    expect(top.get('[data-testid="tile-box-label"]').attributes('data-spot')).toBe('below')
    const full = mount(CameraTileOverlay, { props: { overlay: overlay([track({ box: { x: 10, y: 2, w: 350, h: 355 } })]), width: 640, height: 360 } })
    expect(full.get('[data-testid="tile-box-label"]').attributes('data-spot')).toBe('inside')
  })

  it('moves a label below its box when it would print over its neighbour’s label', () => {
    const w = mount(CameraTileOverlay, {
      props: {
        overlay: overlay([
          track({ trackId: 'a', name: 'A very long name indeed', box: { x: 100, y: 100, w: 40, h: 40 } }),
          track({ trackId: 'b', name: 'Bo', box: { x: 150, y: 100, w: 40, h: 40 } })
        ]),
        width: 640,
        height: 360
      }
    })
    expect(w.findAll('[data-testid="tile-box-label"]').map((l) => l.attributes('data-spot'))).toEqual(['above', 'below'])
  })

  it('draws nothing without an overlay or before the tile has a size', () => {
    expect(mount(CameraTileOverlay, { props: { overlay: null, width: 320, height: 240 } }).findAll('[data-testid="tile-box"]')).toHaveLength(0)
    expect(mount(CameraTileOverlay, { props: { overlay: overlay([track({})]), width: 0, height: 0 } }).findAll('[data-testid="tile-box"]')).toHaveLength(0)
  })

  it('follows a resized tile', async () => {
    const w = mount(CameraTileOverlay, { props: { overlay: overlay([track({})]), width: 640, height: 360 } })
    expect(px((w.get('[data-testid="tile-box"]').element as HTMLElement).style.left)).toBeCloseTo(100)
    await w.setProps({ width: 1280, height: 720 })
    expect(px((w.get('[data-testid="tile-box"]').element as HTMLElement).style.left)).toBeCloseTo(200)
  })
})
