// Which camera's frame goes to the inference pool next, when demand exceeds capacity.
//
// Before: every camera kept one frame in flight, so 8 cameras put 8 frames into a 2-worker pool's
// queue; a frame waited behind up to 7 others (latency grew to 1.5 s at p95 with 1080p crowds) and
// the cameras whose frames happened to arrive first got served more often. Now the engine keeps at
// most `capacity` frames in flight over all cameras (≈ one per worker: no queue inside the pool),
// and picks the next camera by weighted fair share: the camera with the least analysed work per
// weight goes first. Every camera then gets the same reduced rate (important ones twice as much),
// and a frame is analysed within about one frame time of being picked. Frames never queue: the
// source keeps only its newest frame, so waiting cameras just analyse a fresher frame later.
//
// Pure bookkeeping, no timers: the live processor drives it.

export interface SchedulerCamera {
  /** weight of the fair share (1 normal, 2 important) */
  weight: number
  /** a frame is waiting in the camera's source */
  ready: boolean
  /** one of its frames is being analysed (at most one per camera: tracking needs frame order) */
  busy: boolean
  /** virtual time: analysed frames / weight, advanced on every pick */
  vtime: number
}

export class FairScheduler {
  private readonly cams = new Map<string, SchedulerCamera>()
  private inflight = 0

  constructor(private capacity: () => number) {}

  /** Registers (or re-weights) a camera. A new one starts at the current minimum virtual time. */
  add(id: string, weight = 1): void {
    const c = this.cams.get(id)
    if (c) {
      c.weight = Math.max(0.1, weight)
      return
    }
    // starting at 0 would let a new camera take every slot until it caught up with the others
    this.cams.set(id, { weight: Math.max(0.1, weight), ready: false, busy: false, vtime: this.minVtime() })
  }

  remove(id: string): void {
    const c = this.cams.get(id)
    if (c?.busy) this.inflight--
    this.cams.delete(id)
  }

  has(id: string): boolean {
    return this.cams.has(id)
  }

  setReady(id: string, ready: boolean): void {
    const c = this.cams.get(id)
    if (c) c.ready = ready
  }

  /**
   * The next camera to analyse, marked busy, or null when no slot is free or nothing waits.
   * Ties go to the camera registered first, which keeps picks deterministic for tests.
   */
  next(): string | null {
    if (this.inflight >= Math.max(1, this.capacity())) return null
    let best: string | null = null
    let bestV = Infinity
    for (const [id, c] of this.cams) {
      if (!c.ready || c.busy) continue
      if (c.vtime < bestV) {
        best = id
        bestV = c.vtime
      }
    }
    if (best === null) return null
    const c = this.cams.get(best)!
    c.busy = true
    c.ready = false
    c.vtime += 1 / c.weight
    this.inflight++
    return best
  }

  /**
   * The picked camera had no frame after all (claimed elsewhere or the source stopped): give back
   * the slot and the virtual time it was charged.
   */
  cancel(id: string): void {
    const c = this.cams.get(id)
    if (!c?.busy) return
    c.busy = false
    c.vtime -= 1 / c.weight
    this.inflight--
  }

  /** The camera's frame is done (analysed or failed). */
  done(id: string): void {
    const c = this.cams.get(id)
    if (!c?.busy) return
    c.busy = false
    this.inflight--
  }

  inFlight(): number {
    return this.inflight
  }

  private minVtime(): number {
    let m = Infinity
    for (const c of this.cams.values()) m = Math.min(m, c.vtime)
    return Number.isFinite(m) ? m : 0
  }
}

/**
 * Overload with hysteresis: a camera is overloaded when it analyses less than `enter` of the
 * frames its source offers, and clears only above `exit`, so the indicator does not flicker at
 * the edge. `offeredFps` 0 (no frames) is never overloaded.
 */
export function nextOverloaded(
  prev: boolean,
  analysedFps: number,
  offeredFps: number,
  enter = 0.85,
  exit = 0.95
): boolean {
  if (offeredFps <= 0) return false
  const ratio = analysedFps / offeredFps
  return prev ? ratio < exit : ratio < enter
}
