// The alerts repository on the SQL seam: the same queries run on SQLite and PostgreSQL (`?`
// placeholders, ON CONFLICT upserts, BIGINT times read back through Number() because node-pg
// returns BIGINT as a string).
import type { AlertRecord, AlertRule, DeliveryRecord } from '../../shared/types'
import type { SqlDatabase, SqlExecutor, SqlRow } from '../store/sql/database'
import type { AlertsRepository, AttemptRecord, OutboxEntry, StoredTarget } from './repository'

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v))
const strOrNull = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v)

function parseJson<T>(text: unknown, what: string): T {
  try {
    return JSON.parse(String(text)) as T
  } catch {
    throw new Error(`alerts store: ${what} is not valid JSON`)
  }
}

function alertOf(r: SqlRow): AlertRecord {
  const body = parseJson<AlertRecord>(r.body, `alert ${String(r.id)}`)
  return { ...body, acknowledgedBy: strOrNull(r.acknowledged_by), acknowledgedAt: numOrNull(r.acknowledged_at) }
}

function deliveryOf(r: SqlRow): OutboxEntry {
  return {
    id: String(r.id),
    alertId: String(r.alert_id),
    targetId: String(r.target_id),
    targetName: String(r.target_name),
    targetKind: r.target_kind === 'mqtt' ? 'mqtt' : 'webhook',
    message: r.message === 'end' ? 'end' : r.message === 'test' ? 'test' : 'new',
    status: r.status === 'delivered' ? 'delivered' : r.status === 'failed' ? 'failed' : 'pending',
    attempts: num(r.attempts),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    lastError: strOrNull(r.last_error),
    createdAt: num(r.created_at),
    deliveredAt: numOrNull(r.delivered_at),
    payload: String(r.payload)
  }
}

const withoutPayload = (e: OutboxEntry): DeliveryRecord => {
  const { payload, ...rest } = e
  void payload
  return rest
}

const DELIVERY_COLUMNS =
  'id, alert_id, target_id, target_name, target_kind, message, payload, status, attempts, next_attempt_at, last_error, created_at, delivered_at'

async function insertDeliveries(tx: SqlExecutor, rows: readonly OutboxEntry[]): Promise<void> {
  for (const d of rows) {
    await tx.run(`INSERT INTO alert_outbox (${DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      d.id,
      d.alertId,
      d.targetId,
      d.targetName,
      d.targetKind,
      d.message,
      d.payload,
      d.status,
      d.attempts,
      d.nextAttemptAt,
      d.lastError,
      d.createdAt,
      d.deliveredAt
    ])
  }
}

export class SqlAlertsRepository implements AlertsRepository {
  constructor(private readonly db: SqlDatabase) {}

  async listRules(): Promise<AlertRule[]> {
    const rows = await this.db.all('SELECT id, body FROM alert_rules ORDER BY created_at, id')
    return rows.map((r) => parseJson<AlertRule>(r.body, `rule ${String(r.id)}`))
  }

  async saveRule(rule: AlertRule): Promise<void> {
    await this.db.run(
      `INSERT INTO alert_rules (id, body, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
      [rule.id, JSON.stringify(rule), rule.createdAt, rule.updatedAt]
    )
  }

  async deleteRule(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM alert_rules WHERE id = ?', [id])).changes > 0
  }

  async listTargets(): Promise<StoredTarget[]> {
    const rows = await this.db.all('SELECT id, body FROM alert_targets ORDER BY created_at, id')
    return rows.map((r) => parseJson<StoredTarget>(r.body, `target ${String(r.id)}`))
  }

  async getTarget(id: string): Promise<StoredTarget | null> {
    const r = await this.db.get('SELECT id, body FROM alert_targets WHERE id = ?', [id])
    return r ? parseJson<StoredTarget>(r.body, `target ${id}`) : null
  }

  async saveTarget(t: StoredTarget): Promise<void> {
    await this.db.run(
      `INSERT INTO alert_targets (id, kind, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, body = excluded.body, updated_at = excluded.updated_at`,
      [t.id, t.kind, JSON.stringify(t), t.createdAt, t.updatedAt]
    )
  }

  async deleteTarget(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM alert_targets WHERE id = ?', [id])).changes > 0
  }

  async insertAlert(a: AlertRecord, deliveries: readonly OutboxEntry[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO alerts (id, kind, rule_id, at, camera_id, track_id, body, acknowledged_by, acknowledged_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [a.id, a.kind, a.ruleId, a.at, a.cameraId, a.trackId, JSON.stringify(a), a.acknowledgedBy, a.acknowledgedAt]
      )
      await insertDeliveries(tx, deliveries)
    })
  }

  async enqueue(deliveries: readonly OutboxEntry[]): Promise<void> {
    if (deliveries.length === 0) return
    await this.db.transaction((tx) => insertDeliveries(tx, deliveries))
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    const r = await this.db.get('SELECT * FROM alerts WHERE id = ?', [id])
    return r ? alertOf(r) : null
  }

  async listAlerts(q: { limit: number; unacknowledgedOnly?: boolean }): Promise<AlertRecord[]> {
    const where = q.unacknowledgedOnly ? 'WHERE acknowledged_at IS NULL' : ''
    const rows = await this.db.all(`SELECT * FROM alerts ${where} ORDER BY at DESC, id DESC LIMIT ?`, [q.limit])
    return rows.map(alertOf)
  }

  async acknowledge(id: string, operator: string, at: number): Promise<AlertRecord | null> {
    return this.db.transaction(async (tx) => {
      await tx.run(
        'UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL',
        [operator, at, id]
      )
      const r = await tx.get('SELECT * FROM alerts WHERE id = ?', [id])
      return r ? alertOf(r) : null
    })
  }

  async alertsOfTrack(cameraId: string, trackId: string): Promise<AlertRecord[]> {
    const rows = await this.db.all('SELECT * FROM alerts WHERE camera_id = ? AND track_id = ? ORDER BY at', [
      cameraId,
      trackId
    ])
    return rows.map(alertOf)
  }

  async dueDeliveries(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.db.all(
      `SELECT ${DELIVERY_COLUMNS} FROM alert_outbox
       WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
       ORDER BY next_attempt_at, created_at, id LIMIT ?`,
      [now, now, limit]
    )
    return rows.map(deliveryOf)
  }

  async claimDue(now: number, owner: string, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    // rows free, expired, or held by this owner's previous run (killed mid-attempt): the same
    // instance restarting takes them back at once instead of waiting out its own lease
    const rows = await this.db.all(
      `SELECT ${DELIVERY_COLUMNS} FROM alert_outbox
       WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)
       ORDER BY next_attempt_at, created_at, id LIMIT ?`,
      [now, now, owner, limit]
    )
    const claimed: OutboxEntry[] = []
    for (const row of rows.map(deliveryOf)) {
      // conditional: another instance may have taken it since the SELECT
      const r = await this.db.run(
        `UPDATE alert_outbox SET lease_owner = ?, lease_until = ?
         WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
        [owner, leaseUntil, row.id, now, owner]
      )
      if (r.changes === 1) claimed.push(row)
    }
    return claimed
  }

  async release(ids: readonly string[], owner: string): Promise<void> {
    for (const id of ids) {
      await this.db.run(
        'UPDATE alert_outbox SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
        [id, owner]
      )
    }
  }

  async nextDueAt(): Promise<number | null> {
    const r = await this.db.get(`SELECT MIN(next_attempt_at) AS t FROM alert_outbox WHERE status = 'pending'`)
    return r ? numOrNull(r.t) : null
  }

  async getDelivery(id: string): Promise<OutboxEntry | null> {
    const r = await this.db.get(`SELECT ${DELIVERY_COLUMNS} FROM alert_outbox WHERE id = ?`, [id])
    return r ? deliveryOf(r) : null
  }

  async settle(
    id: string,
    attempt: AttemptRecord,
    next: { status: 'delivered' } | { status: 'pending'; nextAttemptAt: number } | { status: 'failed' }
  ): Promise<OutboxEntry | null> {
    return this.db.transaction(async (tx) => {
      const cur = await tx.get('SELECT attempts FROM alert_outbox WHERE id = ?', [id])
      if (!cur) return null
      const n = num(cur.attempts) + 1
      await tx.run(
        'INSERT INTO alert_delivery_attempts (delivery_id, attempt, at, ok, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)',
        [id, n, attempt.at, attempt.ok ? 1 : 0, attempt.error, Math.round(attempt.durationMs)]
      )
      await tx.run(
        `UPDATE alert_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?,
         lease_owner = NULL, lease_until = NULL WHERE id = ?`,
        [
          next.status,
          n,
          next.status === 'pending' ? next.nextAttemptAt : null,
          attempt.error,
          next.status === 'delivered' ? attempt.at : null,
          id
        ]
      )
      const r = await tx.get(`SELECT ${DELIVERY_COLUMNS} FROM alert_outbox WHERE id = ?`, [id])
      return r ? deliveryOf(r) : null
    })
  }

  async dueNow(targetId: string, now: number): Promise<number> {
    const r = await this.db.run(
      `UPDATE alert_outbox SET next_attempt_at = ? WHERE target_id = ? AND status = 'pending' AND next_attempt_at > ?`,
      [now, targetId, now]
    )
    return r.changes
  }

  async listDeliveries(q: { alertId?: string; limit: number }): Promise<DeliveryRecord[]> {
    const rows = q.alertId
      ? await this.db.all(`SELECT ${DELIVERY_COLUMNS} FROM alert_outbox WHERE alert_id = ? ORDER BY created_at, id`, [
          q.alertId
        ])
      : await this.db.all(`SELECT ${DELIVERY_COLUMNS} FROM alert_outbox ORDER BY created_at DESC, id DESC LIMIT ?`, [
          q.limit
        ])
    return rows.map((r) => withoutPayload(deliveryOf(r)))
  }

  async purge(before: number, limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.all(
        `SELECT id FROM alerts a WHERE at < ?
         AND NOT EXISTS (SELECT 1 FROM alert_outbox o WHERE o.alert_id = a.id AND o.status = 'pending')
         ORDER BY at LIMIT ?`,
        [before, limit]
      )
      const ids = rows.map((r) => String(r.id))
      if (ids.length === 0) return 0
      const marks = ids.map(() => '?').join(', ')
      await tx.run(
        `DELETE FROM alert_delivery_attempts WHERE delivery_id IN (SELECT id FROM alert_outbox WHERE alert_id IN (${marks}))`,
        ids
      )
      await tx.run(`DELETE FROM alert_outbox WHERE alert_id IN (${marks})`, ids)
      await tx.run(`DELETE FROM alerts WHERE id IN (${marks})`, ids)
      return ids.length
    })
  }

  async attemptsOf(deliveryId: string): Promise<AttemptRecord[]> {
    const rows = await this.db.all(
      'SELECT delivery_id, at, ok, error, duration_ms FROM alert_delivery_attempts WHERE delivery_id = ? ORDER BY attempt',
      [deliveryId]
    )
    return rows.map((r) => ({
      deliveryId: String(r.delivery_id),
      at: num(r.at),
      ok: num(r.ok) === 1 || r.ok === true,
      error: strOrNull(r.error),
      durationMs: num(r.duration_ms)
    }))
  }
}
