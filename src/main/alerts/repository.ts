// What the alerts box keeps: rules, targets (with their secrets), alerts with their
// acknowledgement, the durable delivery outbox and each delivery attempt. One SQL implementation
// (sql-repository.ts) serves SQLite and PostgreSQL.
import type {
  AlertRecord,
  AlertRule,
  AlertTargetKind,
  AlertTargetView,
  DeliveryMessage,
  DeliveryRecord
} from '../../shared/types'

/** A target as stored: the view plus what must never reach the console. */
export interface StoredTarget extends Omit<AlertTargetView, 'secretSet' | 'passwordSet'> {
  /** webhook: HMAC key ('' = unsigned) */
  secret: string
  /** mqtt */
  password: string
  /** mqtts: private CA, PEM ('' = system roots) */
  caPem: string
}

/** One outbox row: the delivery and the exact body it sends (identical on every retry). */
export interface OutboxEntry extends DeliveryRecord {
  payload: string
}

export interface AttemptRecord {
  deliveryId: string
  at: number
  ok: boolean
  error: string | null
  durationMs: number
}

export interface AlertsRepository {
  listRules(): Promise<AlertRule[]>
  saveRule(rule: AlertRule): Promise<void>
  deleteRule(id: string): Promise<boolean>

  listTargets(): Promise<StoredTarget[]>
  getTarget(id: string): Promise<StoredTarget | null>
  saveTarget(target: StoredTarget): Promise<void>
  deleteTarget(id: string): Promise<boolean>

  /** The alert and its outbox rows in one transaction: an alert never exists without its deliveries. */
  insertAlert(alert: AlertRecord, deliveries: readonly OutboxEntry[]): Promise<void>
  enqueue(deliveries: readonly OutboxEntry[]): Promise<void>
  getAlert(id: string): Promise<AlertRecord | null>
  listAlerts(q: { limit: number; unacknowledgedOnly?: boolean }): Promise<AlertRecord[]>
  /** First acknowledgement wins; returns the alert as stored afterwards, null when unknown. */
  acknowledge(id: string, operator: string, at: number): Promise<AlertRecord | null>
  /** Alerts raised for one track (camera + stored track id), for the 'end' messages. */
  alertsOfTrack(cameraId: string, trackId: string): Promise<AlertRecord[]>

  /** Pending deliveries due at `now` that nobody holds, oldest first (read only). */
  dueDeliveries(now: number, limit: number): Promise<OutboxEntry[]>
  /**
   * Takes up to `limit` due rows for `owner` until `leaseUntil`: several instances sharing one
   * database never send the same row at once, and a row whose sender died is free again when its
   * lease runs out (at once for the same owner: its previous run was killed).
   */
  claimDue(now: number, owner: string, leaseUntil: number, limit: number): Promise<OutboxEntry[]>
  /** Gives rows back unsent (their target turned out to be down), keeping their due time. */
  release(ids: readonly string[], owner: string): Promise<void>
  /** Earliest next attempt of any pending delivery. */
  nextDueAt(): Promise<number | null>
  getDelivery(id: string): Promise<OutboxEntry | null>
  /** Records one attempt and the delivery's new state in one transaction. */
  settle(
    id: string,
    attempt: AttemptRecord,
    next: { status: 'delivered' } | { status: 'pending'; nextAttemptAt: number } | { status: 'failed' }
  ): Promise<OutboxEntry | null>
  /** A broker came back: its pending deliveries are due now instead of at their backoff time. */
  dueNow(targetId: string, now: number): Promise<number>
  listDeliveries(q: { alertId?: string; limit: number }): Promise<DeliveryRecord[]>
  /**
   * Removes up to `limit` alerts raised before `before` with their deliveries and attempts; an
   * alert with a delivery still pending is kept whatever its age (nothing undelivered is dropped).
   */
  purge(before: number, limit: number): Promise<number>
  attemptsOf(deliveryId: string): Promise<AttemptRecord[]>
}

export type { AlertTargetKind, DeliveryMessage }
