export interface BackoffOptions {
  baseMs?: number
  maxMs?: number
  /** ± fraction of randomness so many consoles do not reconnect in lockstep */
  jitter?: number
  random?: () => number
}

/** Delay before reconnect attempt `attempt` (0-based): base·2^attempt, capped, jittered. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500
  const max = opts.maxMs ?? 15_000
  const jitter = opts.jitter ?? 0.2
  const random = opts.random ?? Math.random
  const raw = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)))
  const j = 1 + jitter * (random() * 2 - 1)
  return Math.round(Math.min(max, raw * j))
}
