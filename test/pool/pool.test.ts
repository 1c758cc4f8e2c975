// Pool pieces that need no load: entry resolution, the wire protocol, input checks, start-up
// failure and close.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { resolveWorkerEntry, workerEntryCandidates } from '../../src/main/inference/pool/entry'
import { InferencePool, validateRawImage } from '../../src/main/inference/pool/pool'
import { bodyToError, errorToBody, parseFromWorker, parseToWorker } from '../../src/main/inference/pool/protocol'
import { loadTestImages, repoRoot, testWorker } from './images'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('resolveWorkerEntry', () => {
  const dir = '/app/out/main'
  it('prefers the electron-vite bundle next to the module', () => {
    const has = new Set([path.join(dir, 'inference-worker.js'), path.join('/app/out', 'worker-entry.ts')])
    expect(resolveWorkerEntry(dir, undefined, (p) => has.has(p))).toEqual({
      file: path.join(dir, 'inference-worker.js'),
      needsTsLoader: false
    })
  })
  it('falls back to the TS source beside pool/ and asks for a TS loader', () => {
    const src = path.join(repoRoot, 'src/main/inference/pool')
    const r = resolveWorkerEntry(src)
    expect(r).toEqual({ file: path.join(repoRoot, 'src/main/inference/worker-entry.ts'), needsTsLoader: true })
  })
  it('honours an explicit entry and refuses a missing one, naming what it looked for', () => {
    expect(resolveWorkerEntry(dir, '/x/w.mjs', () => true)).toEqual({ file: '/x/w.mjs', needsTsLoader: false })
    expect(() => resolveWorkerEntry(dir, '/x/missing.ts', () => false)).toThrow(/not found: \/x\/missing\.ts/)
    expect(() => resolveWorkerEntry(dir, undefined, () => false)).toThrow(workerEntryCandidates(dir)[0])
  })
})

describe('protocol', () => {
  it('keeps ApiError codes across the boundary and turns other errors into internal', () => {
    const e = bodyToError(errorToBody(new ApiError('bad_image', 'not a readable image')))
    expect(e).toBeInstanceOf(ApiError)
    expect([e.code, e.message]).toEqual(['bad_image', 'not a readable image'])
    expect(errorToBody(new TypeError('boom'))).toEqual({ code: 'internal', message: 'boom' })
    expect(bodyToError({ code: 'nonsense' as 'internal', message: 'x' }).code).toBe('internal')
  })
  it('rejects malformed messages instead of trusting them', () => {
    expect(parseFromWorker(null)).toBeNull()
    expect(parseFromWorker({ kind: 'ready', provider: 'tpu', pid: 1 })).toBeNull()
    expect(parseFromWorker({ kind: 'result', id: 1, result: {} })).toBeNull()
    expect(parseFromWorker({ kind: 'ready', provider: 'cpu', pid: 7 })).toEqual({
      kind: 'ready',
      provider: 'cpu',
      pid: 7,
      fallbackReason: null
    })
    expect(parseToWorker({ kind: 'job' })).toBeNull()
    expect(parseToWorker({ kind: 'close' })).toEqual({ kind: 'close' })
  })
})

describe('validateRawImage', () => {
  it('accepts packed RGB and refuses wrong sizes with the numbers in the message', () => {
    expect(() => validateRawImage({ data: new Uint8Array(12), width: 2, height: 2 })).not.toThrow()
    expect(() => validateRawImage({ data: new Uint8Array(11), width: 2, height: 2 })).toThrow(
      /needs 12 bytes of RGB, got 11/
    )
    expect(() => validateRawImage({ data: new Uint8Array(0), width: 0, height: 2 })).toThrow(/positive integers/)
    expect(() => validateRawImage({ data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1 })).toThrow(
      /Uint8Array/
    )
  })
})

describe('InferencePool lifecycle', () => {
  it('create() fails with the worker’s own reason when workers cannot start, leaving no process behind', async () => {
    const pids = new Set<number>()
    const err = await InferencePool.create({
      size: 2,
      workerEntry: testWorker,
      extra: { failStart: 'models are on holiday' },
      onWorkersChanged: (ws) => ws.forEach((w) => w.pid !== null && pids.add(w.pid))
    }).then(
      () => null,
      (e: unknown) => e
    )
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).message).toMatch(/could not start: worker \d+ failed to start: models are on holiday/)
    expect(pids.size).toBe(2)
    for (const pid of pids) expect(alive(pid)).toBe(false)
  })

  it('when replacements keep failing to start, waiting and new jobs get a clear error instead of waiting forever', async () => {
    const flag = path.join(mkdtempSync(path.join(os.tmpdir(), 'vigil-pool-')), 'broken')
    const pool = await InferencePool.create({ size: 1, workerEntry: testWorker, extra: { failStartIfExists: flag } })
    try {
      writeFileSync(flag, '')
      const victim = pool.workers()[0].pid as number
      const waiting = pool.analyzeRaw({ data: new Uint8Array(3), width: 1, height: 1 })
      process.kill(victim, 'SIGKILL')
      // the job is retried on the replacement, which never comes: 3 failed starts (backoff 0.25+0.5 s)
      await expect(waiting).rejects.toThrow(
        /inference workers cannot start: failed to start: start refused because .*broken exists/
      )
      await expect(pool.analyzeRaw({ data: new Uint8Array(3), width: 1, height: 1 })).rejects.toThrow(/cannot start/)
      expect(pool.workers()[0].state).not.toBe('ready')
    } finally {
      await pool.close()
      rmSync(path.dirname(flag), { recursive: true, force: true })
    }
  })

  it('create() refuses nonsense options', async () => {
    await expect(InferencePool.create({ size: 0 })).rejects.toThrow(/size must be a positive integer/)
    await expect(InferencePool.create({ workerEntry: '/nope/worker.js' })).rejects.toThrow(/not found/)
  })

  it('answers bad input with clear errors without losing the worker, and close() fails queued jobs and refuses new ones', async () => {
    const images = await loadTestImages(1)
    // execPath as the Electron shell passes it (there: process.execPath + ELECTRON_RUN_AS_NODE)
    const pool = await InferencePool.create({
      size: 1,
      workerEntry: testWorker,
      extra: { delayMs: 100 },
      execPath: process.execPath
    })
    const pid = pool.workers()[0].pid
    await expect(pool.analyzeEncoded(new Uint8Array(0))).rejects.toMatchObject({ code: 'bad_image' })
    await expect(pool.analyzeRaw({ data: new Uint8Array(5), width: 2, height: 2 })).rejects.toMatchObject({
      code: 'bad_image'
    })
    // decoded in the worker: the worker's ApiError arrives with its code, and the worker survives
    await expect(pool.analyzeEncoded(new TextEncoder().encode('definitely not a jpeg'))).rejects.toMatchObject({
      code: 'bad_image'
    })
    expect(pool.workers()[0]).toMatchObject({ pid, state: 'ready', jobsDone: 1 })

    const running = pool.analyzeEncoded(images.encoded[0])
    const queued = pool.analyzeEncoded(images.encoded[0])
    const closing = pool.close()
    await expect(queued).rejects.toThrow(/closed before the job started/)
    // the job already in the worker is finished, not thrown away
    await expect(running).resolves.toMatchObject({ width: 250, height: 250 })
    await closing
    expect(pool.workers()[0].state).toBe('stopped')
    await expect(pool.analyzeEncoded(images.encoded[0])).rejects.toThrow(/closed/)
  })
})

describe('InferencePool input that cannot cross IPC', () => {
  it('refuses options that cannot be serialised without harming the worker', async () => {
    const pool = await InferencePool.create({ size: 1, workerEntry: testWorker })
    try {
      const bad = { embed: true, onProgress: () => undefined } as unknown as Parameters<InferencePool['analyzeRaw']>[1]
      await expect(pool.analyzeRaw({ data: new Uint8Array(3), width: 1, height: 1 }, bad)).rejects.toMatchObject({
        code: 'invalid_request'
      })
      expect(pool.workers()[0].state).toBe('ready')
      await expect(pool.analyzeRaw({ data: new Uint8Array(3), width: 1, height: 1 })).resolves.toMatchObject({
        width: 1,
        faces: []
      })
    } finally {
      await pool.close()
    }
  })
})
