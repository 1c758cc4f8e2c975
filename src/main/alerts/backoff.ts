// Retry timing for deliveries and MQTT reconnects.

export interface BackoffOptions {
  /** first retry after this long, ms */
  baseMs: number
  /** never wait longer than this, ms */
  maxMs: number
  /** ± fraction of random spread so many failed deliveries do not retry in lockstep (0..1) */
  jitter: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 2000, maxMs: 300_000, jitter: 0.2 }

/** Delay before retry number `attempt` (1 = first retry): base·2^(attempt-1), capped, with jitter. */
export function backoffMs(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  rand: () => number = Math.random
): number {
  const n = Math.max(1, Math.floor(attempt))
  // 2^30 already exceeds any sane cap; bounding the exponent keeps the number finite
  const raw = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(n - 1, 30))
  const spread = raw * opts.jitter * (2 * rand() - 1)
  return Math.max(0, Math.round(Math.min(opts.maxMs, raw + spread)))
}
