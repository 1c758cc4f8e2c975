// The pool under abuse, with real models: hundreds of concurrent jobs while a worker is SIGKILLed,
// a full queue, a worker that hangs, a job that crashes every worker it touches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import type { AnalyzeResult } from '../../src/main/contracts'
import { InferencePool } from '../../src/main/inference/pool/pool'
import { MAGIC_CRASH, MAGIC_HANG, magicImage } from './fixtures/magic'
import { loadTestImages, testWorker, type TestImages } from './images'

let images: TestImages

beforeAll(async () => {
  images = await loadTestImages(8)
})

function settleAll<T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(ps)
}

describe('InferencePool under load (real worker entry, real models)', () => {
  let pool: InferencePool
  beforeAll(async () => {
    pool = await InferencePool.create({ size: 2, maxQueue: 1000, jobTimeoutMs: 20_000 })
  })
  afterAll(async () => {
    await pool?.close()
  })

  it('answers every one of 300 concurrent jobs while a worker is SIGKILLed, and replaces the worker', async () => {
    const before = pool.workers()
    expect(before).toHaveLength(2)
    expect(
      before.every((w) => w.state === 'ready' && w.provider === 'cpu' && w.requested === 'cpu' && w.pid !== null)
    ).toBe(true)

    // Reference answers, one per distinct input, to check the answers under stress are the same.
    const expectedFaces = await Promise.all(
      images.encoded.map(async (b) => (await pool.analyzeEncoded(b)).faces.length)
    )
    const expectedFrameFaces = (await pool.analyzeRaw(images.frame)).faces.length

    const N = 300
    let answered = 0
    let killedPid: number | null = null
    const jobs: Promise<{ r: AnalyzeResult; kind: 'frame' | number }>[] = []
    for (let i = 0; i < N; i++) {
      const kind: 'frame' | number = i % 4 === 3 ? 'frame' : i % images.encoded.length
      const p =
        kind === 'frame' ? pool.analyzeRaw(images.frame, { embed: false }) : pool.analyzeEncoded(images.encoded[kind])
      jobs.push(
        p.then((r) => {
          answered++
          if (answered === 40) {
            // kill a worker that is in the middle of a job, so there is an in-flight job to rescue
            const victim = pool.workers().find((w) => w.state === 'busy') ?? pool.workers()[0]
            killedPid = victim.pid
            process.kill(victim.pid as number, 'SIGKILL')
          }
          return { r, kind }
        })
      )
    }
    const settled = await settleAll(jobs)
    const failed = settled.filter((s) => s.status === 'rejected')
    // A killed worker's job is retried once elsewhere, so nothing should fail at all.
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([])
    for (const s of settled) {
      if (s.status !== 'fulfilled') continue
      const { r, kind } = s.value
      expect(r.faces.length).toBe(kind === 'frame' ? expectedFrameFaces : expectedFaces[kind])
    }
    expect(killedPid).not.toBeNull()
    const c = pool.counters()
    expect(c.crashed).toBe(1)
    expect(c.retried).toBe(1)
    expect(c.failedAfterRetry).toBe(0)

    // The replacement comes up and serves.
    await waitFor(() => pool.workers().every((w) => w.state === 'ready'), 20_000)
    const after = pool.workers()
    expect(after.map((w) => w.pid)).not.toContain(killedPid)
    expect(after).toHaveLength(2)
    const more = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.analyzeEncoded(images.encoded[i % images.encoded.length]))
    )
    expect(new Set(more.map((r) => r.workerId)).size).toBeGreaterThanOrEqual(1)
    const newest = Math.max(...pool.workers().map((w) => w.id))
    expect(pool.workers().find((w) => w.id === newest)?.jobsDone ?? 0).toBeGreaterThan(0)
    expect(pool.queueDepth()).toBe(0)
    console.log(
      `stress: ${N} jobs answered with ${images.source} images, killed pid ${String(killedPid)}, counters ${JSON.stringify(pool.counters())}`
    )
  })
})

describe('InferencePool limits (test worker with misbehaving inputs)', () => {
  it('refuses at once with busy when the queue is full, and still serves the queued jobs', async () => {
    const pool = await InferencePool.create({ size: 1, maxQueue: 4, workerEntry: testWorker, extra: { delayMs: 150 } })
    try {
      const accepted = Array.from({ length: 5 }, () => pool.analyzeEncoded(images.encoded[0])) // 1 running + 4 queued
      expect(pool.queueDepth()).toBe(4)
      const t = performance.now()
      const refused = await pool.analyzeEncoded(images.encoded[0]).then(
        () => null,
        (e: unknown) => e
      )
      expect(performance.now() - t).toBeLessThan(50)
      expect(refused).toBeInstanceOf(ApiError)
      expect((refused as ApiError).code).toBe('busy')
      expect((refused as ApiError).message).toMatch(/queue is full/)
      const done = await Promise.all(accepted)
      expect(done).toHaveLength(5)
      expect(pool.counters().rejectedBusy).toBe(1)
      // room again once drained
      await expect(pool.analyzeEncoded(images.encoded[0])).resolves.toBeTruthy()
    } finally {
      await pool.close()
    }
  })

  it('also refuses with busy when the waiting frames hold too many bytes', async () => {
    const frameBytes = images.frame.data.length
    const pool = await InferencePool.create({
      size: 1,
      maxQueue: 100,
      maxQueueBytes: frameBytes * 2,
      workerEntry: testWorker,
      extra: { delayMs: 100 }
    })
    try {
      const accepted = Array.from({ length: 3 }, () => pool.analyzeRaw(images.frame, { embed: false })) // 1 running + 2 queued
      await expect(pool.analyzeRaw(images.frame)).rejects.toMatchObject({
        code: 'busy',
        message: expect.stringMatching(/MiB of images waiting/)
      })
      await expect(Promise.all(accepted)).resolves.toHaveLength(3)
    } finally {
      await pool.close()
    }
  })

  it('kills and replaces a hung worker after the job timeout; the hung job fails clearly after one retry, others are served', async () => {
    const pool = await InferencePool.create({ size: 2, jobTimeoutMs: 2000, workerEntry: testWorker })
    try {
      const pidsBefore = pool.workers().map((w) => w.pid)
      const t = performance.now()
      const hung = pool.analyzeRaw(magicImage(MAGIC_HANG)).then(
        () => null,
        (e: unknown) => e
      )
      // normal work keeps flowing on the other worker meanwhile
      const normal = await Promise.all(Array.from({ length: 10 }, () => pool.analyzeEncoded(images.encoded[1])))
      expect(normal).toHaveLength(10)
      const err = await hung
      const elapsed = performance.now() - t
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).code).toBe('internal')
      expect((err as ApiError).message).toMatch(
        /failed on 2 workers.*no answer within 2000 ms.*then.*no answer within 2000 ms/
      )
      expect(elapsed).toBeGreaterThanOrEqual(3900)
      expect(pool.counters().timeouts).toBe(2)
      await waitFor(() => pool.workers().filter((w) => w.state === 'ready').length === 2, 20_000)
      const pidsAfter = pool.workers().map((w) => w.pid)
      expect(pidsAfter.filter((p) => pidsBefore.includes(p)).length).toBeLessThan(2)
      await expect(pool.analyzeRaw(images.frame)).resolves.toMatchObject({ width: 640, height: 360 })
    } finally {
      await pool.close()
    }
  })

  it('a job that crashes every worker is retried once, then fails with the signal named; the pool recovers', async () => {
    const pool = await InferencePool.create({ size: 1, workerEntry: testWorker })
    try {
      const err = await pool.analyzeRaw(magicImage(MAGIC_CRASH)).then(
        () => null,
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).message).toMatch(
        /failed on 2 workers: worker \d+ \(pid \d+\) was killed by SIGSEGV; then worker \d+ \(pid \d+\) was killed by SIGSEGV/
      )
      expect(pool.counters()).toMatchObject({ crashed: 2, retried: 1, failedAfterRetry: 1 })
      await expect(pool.analyzeEncoded(images.encoded[0])).resolves.toBeTruthy()
    } finally {
      await pool.close()
    }
  })
})

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}
