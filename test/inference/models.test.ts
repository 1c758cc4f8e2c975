import { createHash } from 'node:crypto'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession, verifyModels } from '../../src/main/inference/models'
import { MODELS_DIR, skipWithoutModels } from '../support/data'

const TINY_SHA = createHash('sha256').update('tiny').digest('hex')

describe('verifyModels (temp dir)', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-models-test-'))
    const manifest = {
      models: {
        detect: { file: 'a.onnx', sha256: TINY_SHA, bytes: 4, required: true },
        landmark: { file: 'b.onnx', sha256: TINY_SHA, bytes: 4, required: true },
        pose: { file: 'c.onnx', sha256: TINY_SHA, bytes: 4, required: false }
      }
    }
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest))
    await writeFile(join(dir, 'a.onnx'), 'tiny')
    await writeFile(join(dir, 'b.onnx'), 'tampered')
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('passes good files and returns their paths', async () => {
    expect(await verifyModels(dir, ['detect'])).toEqual({ detect: join(dir, 'a.onnx') })
  })
  it('names the corrupt file and says how to fix it, in one error', async () => {
    const err = await verifyModels(dir).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/b\.onnx \(landmark\) is corrupt/)
    expect((err as Error).message).toMatch(/npm run models/)
    // Optional models are not checked unless asked for.
    expect((err as Error).message).not.toMatch(/c\.onnx/)
  })
  it('names a missing file', async () => {
    const err = await verifyModels(dir, ['detect', 'pose']).catch((e: Error) => e)
    expect((err as Error).message).toMatch(/c\.onnx \(pose\) is missing.*npm run models/)
  })
  it('reports a missing manifest', async () => {
    const err = await verifyModels(join(dir, 'nope')).catch((e: Error) => e)
    expect((err as Error).message).toMatch(/manifest.*missing.*npm run models/)
  })
})

describe.skipIf(skipWithoutModels('createSession'))('createSession', () => {
  it('falls back to CPU and says why when the requested provider is unavailable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-models-test-'))
    try {
      await copyFile(join(MODELS_DIR, 'fr_landmark.onnx'), join(dir, 'm.onnx'))
      const other = process.platform === 'darwin' ? 'dml' : 'coreml'
      const s = await createSession(join(dir, 'm.onnx'), { provider: other })
      expect(s.provider).toBe('cpu')
      expect(s.fallbackReason).toMatch(new RegExp(other))
      await s.session.release()
      const cpu = await createSession(join(dir, 'm.onnx'), { provider: 'cpu', threads: 1 })
      expect(cpu.provider).toBe('cpu')
      expect(cpu.fallbackReason).toBeNull()
      await cpu.session.release()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
