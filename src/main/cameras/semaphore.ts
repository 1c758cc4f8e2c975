// A counting semaphore: at most `limit` holders at once, the rest wait in arrival order. One
// instance bounds the ffmpeg probes of the whole process, whichever client or socket asks.

export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []
  private peakActive = 0

  constructor(private limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`semaphore limit must be a positive integer, got ${limit}`)
  }

  get inUse(): number {
    return this.active
  }

  get queued(): number {
    return this.waiting.length
  }

  /** highest number of simultaneous holders seen (for tests and benchmarks) */
  get peak(): number {
    return this.peakActive
  }

  /** Waits for a slot; the returned function releases it (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r))
    else this.active++
    this.peakActive = Math.max(this.peakActive, this.active)
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      // the slot passes straight to the next waiter, so `active` stays the same
      if (next) next()
      else this.active--
    }
  }

  /** Runs `fn` while holding a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
