// `npm run eval -- --cluster` and `--open-set` end to end on gallery-bbt (40 photos, 8 people):
// the real pipeline, the live clustering and the app's Gallery and matcher.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { dataPath, REPO_ROOT, skipWithoutData, skipWithoutModels } from '../support/data'

const run = promisify(execFile)
const skip =
  skipWithoutData('gallery-bbt', 'eval --cluster/--open-set') || skipWithoutModels('eval --cluster/--open-set')

async function lastJson(args: string[]): Promise<Record<string, number>> {
  const r = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/main/cli/eval.ts'), ...args], {
    cwd: REPO_ROOT,
    timeout: 120_000
  })
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>
}

describe.skipIf(skip)('eval face-memory modes', () => {
  it('--cluster groups every face of gallery-bbt by person without the labels', async () => {
    const j = await lastJson(['--cluster', dataPath('gallery-bbt')])
    expect(Object.keys(j)).toEqual([
      'images',
      'facesFound',
      'clusters',
      'pairwisePrecision',
      'pairwiseRecall',
      'bcubedF'
    ])
    expect(j).toMatchObject({ images: 40, facesFound: 40 })
    expect(j.bcubedF).toBeGreaterThanOrEqual(0.98)
  }, 150_000)

  it('--open-set names no stranger and nobody wrongly', async () => {
    const j = await lastJson(['--open-set', dataPath('gallery-bbt')])
    expect(j).toMatchObject({ probes: 36, genuineProbes: 16, strangerProbes: 20, wrongMatch: 0, strangerNamed: 0 })
    expect(j.correctMatch! + j.genuineReview!).toBeGreaterThanOrEqual(0.95 * j.genuineProbes!)
  }, 150_000)
})
