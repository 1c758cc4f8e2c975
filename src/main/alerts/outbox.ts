// The delivery worker over the durable outbox. Rows are written with their alert (one
// transaction) before anything is sent, and a row is only marked delivered after the receiver
// acknowledged it, so a crash at any point leaves the row pending and it is sent again after the
// restart, under the same idempotency key (its id). Receivers dedupe on that key: exactly once
// from their point of view.
import { randomUUID } from 'node:crypto'
import type { DeliveryRecord } from '../../shared/types'
import type { Logger } from '../log/logger'
import { backoffMs, DEFAULT_BACKOFF, type BackoffOptions } from './backoff'
import type { AlertsRepository, OutboxEntry } from './repository'
import type { SendOutcome } from './webhook'

export interface OutboxWorkerOptions {
  repo: AlertsRepository
  deliver: (entry: OutboxEntry) => Promise<SendOutcome>
  logger: Logger
  backoff?: BackoffOptions
  /** after this many attempts a delivery is given up ('failed'), default 50 (hours with the default backoff) */
  maxAttempts?: number
  /** look at the outbox at least this often, ms (rows may come from elsewhere, e.g. a restart) */
  pollMs?: number
  /**
   * how long a claimed row is this worker's, ms: longer than one attempt can take (the webhook
   * timeout, the broker acknowledgement), so only a dead sender's rows are taken over (default 30 s)
   */
  leaseMs?: () => number
  /**
   * lease owner, stable across restarts of the same instance so a killed run's rows are taken back
   * at once (default: random per worker)
   */
  owner?: string
  onSettled?: (d: DeliveryRecord) => void
  now?: () => number
}

const BATCH = 50

/** What a delivery becomes after one attempt. Pure, so the retry policy is unit-tested. */
export function nextState(
  attemptsBefore: number,
  outcome: SendOutcome,
  now: number,
  maxAttempts: number,
  backoff: BackoffOptions,
  rand: () => number = Math.random
): { status: 'delivered' } | { status: 'pending'; nextAttemptAt: number } | { status: 'failed' } {
  if (outcome.ok) return { status: 'delivered' }
  const attempts = attemptsBefore + 1
  if (outcome.permanent || attempts >= maxAttempts) return { status: 'failed' }
  return { status: 'pending', nextAttemptAt: now + backoffMs(attempts, backoff, rand) }
}

export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private readonly now: () => number
  private readonly owner: string

  constructor(private readonly o: OutboxWorkerOptions) {
    this.now = o.now ?? Date.now
    this.owner = o.owner ?? randomUUID()
  }

  start(): void {
    this.kick()
  }

  /** Look at the outbox now (new rows, a broker back online). */
  kick(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.running = this.drain()
      .catch((err: unknown) => this.o.logger.error({ err: (err as Error).message }, 'outbox pass failed'))
      .finally(() => {
        this.running = null
        if (this.again) {
          this.again = false
          this.kick()
        } else void this.schedule()
      })
  }

  private async schedule(): Promise<void> {
    if (this.stopped) return
    const poll = this.o.pollMs ?? 30_000
    let wait = poll
    try {
      const due = await this.o.repo.nextDueAt()
      if (due !== null) wait = Math.min(poll, Math.max(0, due - this.now()))
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'outbox: next due time unknown')
    }
    if (this.stopped || this.running || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.kick()
    }, wait)
    this.timer.unref()
  }

  private async drain(): Promise<void> {
    for (;;) {
      const now = this.now()
      const due = await this.o.repo.claimDue(now, this.owner, now + (this.o.leaseMs?.() ?? 30_000), BATCH)
      if (due.length === 0) return
      if (this.stopped) {
        await this.o.repo.release(
          due.map((d) => d.id),
          this.owner
        )
        return
      }
      // one target's rows in order (an MQTT 'end' after its 'new'), targets in parallel so a dead
      // webhook does not hold up the broker
      const byTarget = new Map<string, OutboxEntry[]>()
      for (const d of due) {
        const list = byTarget.get(d.targetId)
        if (list) list.push(d)
        else byTarget.set(d.targetId, [d])
      }
      await Promise.all(
        [...byTarget.values()].map(async (rows) => {
          for (let i = 0; i < rows.length; i++) {
            // the target is down (its later rows would fail the same way now) or we are stopping:
            // the rest go back unsent, due as before, instead of waiting out their lease
            if (this.stopped || !(await this.attempt(rows[i]))) {
              await this.o.repo.release(
                rows.slice(i + 1).map((r) => r.id),
                this.owner
              )
              return
            }
          }
        })
      )
      if (due.length < BATCH) return
    }
  }

  /** One attempt; true when delivered. */
  private async attempt(row: OutboxEntry): Promise<boolean> {
    const started = this.now()
    let outcome: SendOutcome
    try {
      outcome = await this.o.deliver(row)
    } catch (err) {
      outcome = { ok: false, error: (err as Error).message, permanent: false }
    }
    const at = this.now()
    const next = nextState(row.attempts, outcome, at, this.o.maxAttempts ?? 50, this.o.backoff ?? DEFAULT_BACKOFF)
    const settled = await this.o.repo.settle(
      row.id,
      { deliveryId: row.id, at, ok: outcome.ok, error: outcome.error, durationMs: at - started },
      next
    )
    if (!outcome.ok)
      this.o.logger.warn(
        { delivery: row.id, target: row.targetId, attempt: row.attempts + 1, err: outcome.error, next: next.status },
        'delivery failed'
      )
    if (settled) {
      const { payload, ...rec } = settled
      void payload
      this.o.onSettled?.(rec)
    }
    return outcome.ok
  }

  /** Stops scheduling; the attempt in flight finishes (its row stays pending if it does not). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }
}
