// @vitest-environment happy-dom
import { mount, type VueWrapper } from '@vue/test-utils'
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
const overlay = (tracks: TrackOverlay[]): FrameOverlay => ({ cameraId: 'c1', at: 0, width: 640, height: 360, tracks })

/** These tracks of a 640×360 frame drawn into a tile of the given size (null: no overlay yet). */
const draw = (tracks: TrackOverlay[] | null, width = 640, height = 360): VueWrapper =>
  mount(CameraTileOverlay, { props: { overlay: tracks && overlay(tracks), width, height } })

const px = (v: string): number => Number(v.replace('px', ''))
/** Where the first box is drawn, in tile pixels. */
function firstBox(w: VueWrapper): { left: number; top: number; width: number; height: number } {
  const s = (w.get('[data-testid="tile-box"]').element as HTMLElement).style
  return { left: px(s.left), top: px(s.top), width: px(s.width), height: px(s.height) }
}

describe('CameraTileOverlay', () => {
  it('scales source-pixel boxes into a letterboxed tile (object-fit: contain)', () => {
    // 640×360 into 320×240: scale 0.5, image 320×180, centred with 30 px bars above and below.
    const box = firstBox(draw([track({})], 320, 240))
    expect(box.left).toBeCloseTo(50)
    expect(box.top).toBeCloseTo(30 + 25)
    expect(box.width).toBeCloseTo(30)
    expect(box.height).toBeCloseTo(40)
  })

  it('pillarboxes a tall tile horizontally', () => {
    // 640×360 into 400×400: scale 0.625, image 400×225, offset y = 87.5.
    const box = firstBox(draw([track({ box: { x: 0, y: 0, w: 64, h: 36 } })], 400, 400))
    expect(box.left).toBeCloseTo(0)
    expect(box.top).toBeCloseTo(87.5)
    expect(box.width).toBeCloseTo(40)
  })

  it('clips boxes that run past the frame edge', () => {
    const box = firstBox(draw([track({ box: { x: 600, y: 340, w: 100, h: 100 } })]))
    expect(box.width).toBeCloseTo(40)
    expect(box.height).toBeCloseTo(20)
  })

  it('colours each box by its band, using the one CSS variable per band', () => {
    const w = draw([
      track({ trackId: 'a', band: 'match' }),
      track({ trackId: 'b', band: 'review', box: { x: 300, y: 100, w: 50, h: 50 } }),
      track({ trackId: 'c', band: 'unknown', name: null, personId: null, box: { x: 500, y: 100, w: 50, h: 50 } })
    ])
    const boxes = w.findAll('[data-testid="tile-box"]')
    expect(boxes.map((b) => b.attributes('data-band'))).toEqual(['match', 'review', 'unknown'])
    expect(boxes.map((b) => (b.element as HTMLElement).style.borderColor)).toEqual([
      'var(--c-match)',
      'var(--c-review)',
      'var(--c-unknown)'
    ])
    const labels = w.findAll('[data-testid="tile-box-label"]')
    expect(labels.map((l) => (l.element as HTMLElement).style.background)).toEqual([
      'var(--c-match)',
      'var(--c-review)',
      'var(--c-unknown)'
    ])
  })

  it('labels with the name and a whole percentage; tentative names get a "?", unknown faces no name', () => {
    const w = draw([
      track({ trackId: 'a', band: 'match', name: 'Ana Lima', score: 0.874 }),
      track({ trackId: 'b', band: 'review', name: 'Bo Chen', score: 0.42, box: { x: 300, y: 100, w: 50, h: 50 } }),
      track({ trackId: 'c', band: 'unknown', name: null, score: 0.21, box: { x: 500, y: 100, w: 50, h: 50 } })
    ])
    expect(w.findAll('[data-testid="tile-box-label"]').map((l) => l.text())).toEqual([
      'Ana Lima 87%',
      'Bo Chen? 42%',
      'Unknown 21%'
    ])
  })

  it('puts the label under the box when the face touches the top of the picture, inside when it fills it', () => {
    const top = draw([track({ box: { x: 10, y: 2, w: 60, h: 60 } })])
    expect(top.get('[data-testid="tile-box-label"]').attributes('data-spot')).toBe('below')
    const full = draw([track({ box: { x: 10, y: 2, w: 350, h: 355 } })])
    expect(full.get('[data-testid="tile-box-label"]').attributes('data-spot')).toBe('inside')
  })

  it('moves a label below its box when it would print over its neighbour’s label', () => {
    const w = draw([
      track({ trackId: 'a', name: 'A very long name indeed', box: { x: 100, y: 100, w: 40, h: 40 } }),
      track({ trackId: 'b', name: 'Bo', box: { x: 150, y: 100, w: 40, h: 40 } })
    ])
    expect(w.findAll('[data-testid="tile-box-label"]').map((l) => l.attributes('data-spot'))).toEqual([
      'above',
      'below'
    ])
  })

  it('draws nothing without an overlay or before the tile has a size', () => {
    expect(draw(null, 320, 240).findAll('[data-testid="tile-box"]')).toHaveLength(0)
    expect(draw([track({})], 0, 0).findAll('[data-testid="tile-box"]')).toHaveLength(0)
  })

  it('follows a resized tile', async () => {
    const w = draw([track({})])
    expect(firstBox(w).left).toBeCloseTo(100)
    await w.setProps({ width: 1280, height: 720 })
    expect(firstBox(w).left).toBeCloseTo(200)
  })
})
