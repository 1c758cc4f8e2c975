// Inputs for the pool tests and the bench: real photos from the shared data folder when present,
// otherwise generated face-free images (the pool's behaviour does not depend on faces).
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import type { RgbImage } from '../../src/main/contracts'

import { DATA_DIR as dataDir, REPO_ROOT as repoRoot } from '../support/data'

export { dataDir, repoRoot }
export const testWorker = path.join(repoRoot, 'test/pool/fixtures/test-worker.ts')

export interface TestImages {
  /** JPEG/PNG files as bytes */
  encoded: Uint8Array[]
  /** one 640×360 RGB frame, as a camera would deliver it */
  frame: RgbImage
  source: 'data' | 'generated'
}

async function generatedFrame(width: number, height: number): Promise<RgbImage> {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3
      data[o] = (x * 255) / width
      data[o + 1] = (y * 255) / height
      data[o + 2] = ((x ^ y) & 0xff) >> 1
    }
  }
  return { data, width, height }
}

export async function loadTestImages(maxEncoded = 8): Promise<TestImages> {
  const lfw = path.join(dataDir, 'lfw-subset')
  const scene = path.join(dataDir, 'scenes', 'bbt1.jpg')
  if (existsSync(lfw) && existsSync(scene)) {
    const files = readdirSync(lfw)
      .sort()
      .flatMap((p) =>
        readdirSync(path.join(lfw, p))
          .sort()
          .slice(0, 1)
          .map((f) => path.join(lfw, p, f))
      )
      .slice(0, maxEncoded)
    const encoded = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))))
    const { data, info } = await sharp(scene)
      .resize(640, 360, { fit: 'cover' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    return {
      encoded,
      frame: {
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        width: info.width,
        height: info.height
      },
      source: 'data'
    }
  }
  console.warn(
    `pool tests: ${dataDir} (lfw-subset, scenes) not found; using generated face-free images (set VIGIL_DATA to use real photos)`
  )
  const frame = await generatedFrame(640, 360)
  const encoded: Uint8Array[] = []
  for (let i = 0; i < Math.min(maxEncoded, 4); i++) {
    const img = await generatedFrame(250 + i * 10, 250)
    encoded.push(
      new Uint8Array(
        await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
          .jpeg()
          .toBuffer()
      )
    )
  }
  return { encoded, frame, source: 'generated' }
}
