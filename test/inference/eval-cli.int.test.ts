// `npm run eval` end to end on a small temporary folder built from symlinks into the shared data.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listPersonFolders, parseCsv, UsageError } from '../../src/main/cli/common'
import { dataPath, REPO_ROOT, skipWithoutData, skipWithoutModels } from '../support/data'

const run = promisify(execFile)

async function evalCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/main/cli/eval.ts'), ...args], {
      cwd: REPO_ROOT,
      timeout: 90_000
    })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string }
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

const lastJson = (stdout: string): Record<string, number> =>
  JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number>

describe('cli common', () => {
  it('parses CSV with quotes, CRLF and blank lines', () => {
    expect(parseCsv('a,b,same\r\n"x, y.jpg",b.jpg,1\n\n"say ""hi""",c,0')).toEqual([
      ['a', 'b', 'same'],
      ['x, y.jpg', 'b.jpg', '1'],
      ['say "hi"', 'c', '0']
    ])
    expect(() => parseCsv('a,b\n"open,1')).toThrow(/unterminated quoted field starting on line 2/)
  })
  it('lists person folders, ignoring non-images and empty folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-people-'))
    try {
      await mkdir(join(dir, 'bob'))
      await mkdir(join(dir, 'alice'))
      await mkdir(join(dir, 'empty'))
      await writeFile(join(dir, 'bob', 'b.JPG'), '')
      await writeFile(join(dir, 'bob', 'notes.txt'), '')
      await writeFile(join(dir, 'alice', 'a.png'), '')
      const people = await listPersonFolders(dir)
      expect(people.map((p) => [p.person, p.files.length])).toEqual([
        ['alice', 1],
        ['bob', 1]
      ])
      await expect(listPersonFolders(join(dir, 'empty'))).rejects.toThrow(UsageError)
      await expect(listPersonFolders(join(dir, 'missing'))).rejects.toThrow(/does not exist/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('eval CLI argument errors', () => {
  it('explains a missing directory and a bad pairs file without a stack trace', async () => {
    const r = await evalCli(['/nonexistent/vigil-eval'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/error: \/nonexistent\/vigil-eval does not exist/)
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/)
    const none = await evalCli([])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/usage:/)
  })
})

const skip = skipWithoutModels('eval CLI') || skipWithoutData('lfw-subset', 'eval CLI')

describe.skipIf(skip)('eval CLI on a small set', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-eval-'))
    for (const person of ['Colin_Powell', 'Tony_Blair', 'Vladimir_Putin']) {
      await mkdir(join(dir, person))
      for (const n of [1, 2, 3]) {
        const f = `${person}_000${n}.jpg`
        await symlink(dataPath('lfw-subset', person, f), join(dir, person, f))
      }
    }
    // A photo without a face must count as a wrong answer, not disappear.
    await sharp({ create: { width: 250, height: 250, channels: 3, background: '#7a7a7a' } })
      .jpeg()
      .toFile(join(dir, 'Tony_Blair', 'blank.jpg'))
    await writeFile(
      join(dir, 'pairs.csv'),
      [
        'a,b,same',
        'Colin_Powell/Colin_Powell_0001.jpg,Colin_Powell/Colin_Powell_0002.jpg,1',
        'Tony_Blair/Tony_Blair_0001.jpg,Tony_Blair/Tony_Blair_0003.jpg,true',
        'Colin_Powell/Colin_Powell_0001.jpg,Tony_Blair/Tony_Blair_0001.jpg,0',
        'Vladimir_Putin/Vladimir_Putin_0002.jpg,Tony_Blair/Tony_Blair_0002.jpg,no'
      ].join('\n')
    )
    await writeFile(join(dir, 'bad.csv'), 'left,right\nx.jpg,y.jpg\n')
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('folder mode: summary, calibration hints, and the JSON object as the last line', async () => {
    const r = await evalCli([dir])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/suggested thresholds/)
    expect(r.stdout).toMatch(/accept \d\.\d{3}/)
    expect(r.stdout).toMatch(/review \d\.\d{3}/)
    expect(r.stderr).toMatch(/blank\.jpg: no face found \(counted as a wrong answer\)/)
    const j = lastJson(r.stdout)
    expect(Object.keys(j)).toEqual([
      'images',
      'facesFound',
      'pairs',
      'pairAccuracy',
      'threshold',
      'f1',
      'auc',
      'nnAccuracy',
      'msPerImage'
    ])
    expect(j.images).toBe(10)
    expect(j.facesFound).toBe(9)
    expect(j.pairs).toBe(45)
    // The blank image's 9 pairs are always wrong: 3 genuine + 6 impostor → best is 36/45.
    expect(j.pairAccuracy).toBeCloseTo(36 / 45, 5)
    expect(j.nnAccuracy).toBeCloseTo(0.9, 5)
    expect(j.msPerImage).toBeGreaterThan(0)
  })

  it('pairs mode reads paths relative to the CSV', async () => {
    const r = await evalCli(['--pairs', join(dir, 'pairs.csv')])
    expect(r.code, r.stderr).toBe(0)
    const j = lastJson(r.stdout)
    expect(Object.keys(j)).toEqual(['pairs', 'facesFound', 'pairAccuracy', 'threshold', 'auc', 'msPerImage'])
    expect(j.pairs).toBe(4)
    expect(j.facesFound).toBe(6)
    expect(j.pairAccuracy).toBe(1)
    expect(j.auc).toBe(1)
  })

  it('pairs mode names a wrong header', async () => {
    const r = await evalCli(['--pairs', join(dir, 'bad.csv')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/header must name the columns a,b,same/)
  })
})
