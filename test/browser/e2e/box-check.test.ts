// The box-agreement check used by the end-to-end test, on a snapshot made the way the engine makes
// them (outline burnt in, JPEG at quality 75): the same box scores ~1, a box moved by a face width ~0.
import { describe, expect, it } from 'vitest'
import { drawBoxOutline, encodeJpeg } from '../../../src/main/store/media'
import { BURNT_COLOURS, decodeDataUrl, outlineHitRate, type Rgb } from './box-check'

async function snapshot(
  box: { x: number; y: number; w: number; h: number },
  colour: Rgb
): Promise<Awaited<ReturnType<typeof decodeDataUrl>>> {
  const width = 320
  const height = 180
  const data = new Uint8Array(width * height * 3)
  // dark, slightly noisy stage background
  for (let i = 0; i < data.length; i++) data[i] = 30 + ((i * 7919) % 23)
  const jpeg = await encodeJpeg(drawBoxOutline({ data, width, height }, box, colour, 2), { quality: 75 })
  return decodeDataUrl(`data:image/jpeg;base64,${jpeg.toString('base64')}`)
}

describe('outlineHitRate', () => {
  const box = { x: 100, y: 40, w: 40, h: 56 }

  it('finds the burnt-in outline under the same box, in either band colour', async () => {
    for (const colour of BURNT_COLOURS) expect(outlineHitRate(await snapshot(box, colour), box)).toBeGreaterThan(0.9)
  })

  it('tolerates a pixel of rounding but not a box from another frame', async () => {
    const img = await snapshot(box, BURNT_COLOURS[1]!)
    expect(outlineHitRate(img, { x: 101.4, y: 39.2, w: 39, h: 57 })).toBeGreaterThan(0.9)
    expect(outlineHitRate(img, { x: 150, y: 60, w: 40, h: 56 })).toBeLessThan(0.2)
  })

  it('ignores colours that are not an outline colour', async () => {
    expect(outlineHitRate(await snapshot(box, [150, 150, 150]), box)).toBeLessThan(0.1)
  })
})
