// The alerts repository checks as one suite over an opener, so the same checks run on every
// engine the store supports (SQLite here; PostgreSQL where a server is available).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OutboxEntry } from '../../src/main/alerts/repository'
import { SqlAlertsRepository } from '../../src/main/alerts/sql-repository'
import type { SqlDatabase } from '../../src/main/store/sql/database'
import type { AlertRecord, AlertRule } from '../../src/shared/types'
const alert = (id: string, at: number, over: Partial<AlertRecord> = {}): AlertRecord => ({
  id,
  kind: 'face',
  ruleId: 'r1',
  ruleName: 'rule',
  at,
  cameraId: 'cam1',
  cameraName: 'Stage',
  eventId: 'e1',
  trackId: 't1',
  personId: 'lin',
  personName: 'Lin',
  band: 'match',
  score: 0.5,
  crop: null,
  snapshot: null,
  message: 'Lin on Stage',
  console: true,
  desktop: false,
  sound: false,
  acknowledgedBy: null,
  acknowledgedAt: null,
  ...over
})

const row = (id: string, alertId: string, at: number, over: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id,
  alertId,
  targetId: 'hook',
  targetName: 'Hook',
  targetKind: 'webhook',
  message: 'new',
  status: 'pending',
  attempts: 0,
  nextAttemptAt: at,
  lastError: null,
  createdAt: at,
  deliveredAt: null,
  payload: `{"id":"${id}"}`,
  ...over
})

export function repositorySuite(engine: string, open: () => Promise<SqlDatabase>): void {
  describe(`alerts repository (${engine})`, () => {
    let db: SqlDatabase
    let repo: SqlAlertsRepository
    // epoch ms past 2^31: BIGINT columns must hold them on every engine
    const T = 1_795_000_000_000

    beforeAll(async () => {
      db = await open()
      repo = new SqlAlertsRepository(db)
    })
    afterAll(async () => {
      await db?.close()
    })

    it('stores rules and targets whole, upserts by id, deletes', async () => {
      const rule = { id: 'r1', name: 'a', createdAt: T, updatedAt: T } as AlertRule
      await repo.saveRule(rule)
      await repo.saveRule({ ...rule, name: 'b', updatedAt: T + 1 })
      expect((await repo.listRules()).map((r) => r.name)).toEqual(['b'])
      expect(await repo.deleteRule('r1')).toBe(true)
      expect(await repo.deleteRule('r1')).toBe(false)
    })

    it('an alert and its deliveries in one transaction; a failing row rolls the alert back', async () => {
      await repo.insertAlert(alert('a1', T), [row('d1', 'a1', T), row('d2', 'a1', T, { targetKind: 'mqtt' })])
      expect(await repo.getAlert('a1')).toMatchObject({ id: 'a1', at: T })
      // d1 exists: the second insert fails as a whole and a2 is not stored
      await expect(repo.insertAlert(alert('a2', T), [row('d1', 'a2', T)])).rejects.toThrow()
      expect(await repo.getAlert('a2')).toBeNull()
    })

    it('due rows oldest first; settle records the attempt and the next state', async () => {
      expect((await repo.dueDeliveries(T, 10)).map((d) => d.id)).toEqual(['d1', 'd2'])
      const failed = await repo.settle(
        'd1',
        { deliveryId: 'd1', at: T + 5, ok: false, error: 'ECONNREFUSED', durationMs: 3 },
        { status: 'pending', nextAttemptAt: T + 2000 }
      )
      expect(failed).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastError: 'ECONNREFUSED',
        nextAttemptAt: T + 2000
      })
      expect((await repo.dueDeliveries(T + 10, 10)).map((d) => d.id)).toEqual(['d2'])
      expect(await repo.nextDueAt()).toBe(T)
      const ok = await repo.settle(
        'd1',
        { deliveryId: 'd1', at: T + 2001, ok: true, error: null, durationMs: 4 },
        { status: 'delivered' }
      )
      expect(ok).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: T + 2001, nextAttemptAt: null })
      expect((await repo.attemptsOf('d1')).map((a) => a.ok)).toEqual([false, true])
      expect(
        await repo.settle(
          'nope',
          { deliveryId: 'nope', at: T, ok: true, error: null, durationMs: 0 },
          { status: 'delivered' }
        )
      ).toBeNull()
    })

    it('dueNow pulls a target’s waiting rows forward (broker back)', async () => {
      await repo.settle(
        'd2',
        { deliveryId: 'd2', at: T, ok: false, error: 'broker not connected', durationMs: 0 },
        { status: 'pending', nextAttemptAt: T + 60_000 }
      )
      expect(await repo.dueDeliveries(T + 1, 10)).toEqual([])
      expect(await repo.dueNow('hook', T + 1)).toBe(1)
      expect((await repo.dueDeliveries(T + 1, 10)).map((d) => d.id)).toEqual(['d2'])
    })

    it('acknowledge: first operator wins, unknown ids answer null', async () => {
      const a = await repo.acknowledge('a1', 'alice', T + 10)
      expect(a).toMatchObject({ acknowledgedBy: 'alice', acknowledgedAt: T + 10 })
      expect(await repo.acknowledge('a1', 'bob', T + 20)).toMatchObject({ acknowledgedBy: 'alice' })
      expect(await repo.acknowledge('zz', 'bob', T)).toBeNull()
      await repo.insertAlert(alert('a3', T + 30, { trackId: 't2' }), [])
      expect((await repo.listAlerts({ limit: 10, unacknowledgedOnly: true })).map((x) => x.id)).toEqual(['a3'])
      expect((await repo.listAlerts({ limit: 10 })).map((x) => x.id)).toEqual(['a3', 'a1'])
      expect((await repo.alertsOfTrack('cam1', 't2')).map((x) => x.id)).toEqual(['a3'])
    })

    it('purge drops old alerts with their deliveries, never one still pending', async () => {
      await repo.insertAlert(alert('old-pending', T - 10), [row('dp', 'old-pending', T - 10)])
      await repo.insertAlert(alert('old-done', T - 10), [row('dd', 'old-done', T - 10, { status: 'delivered' })])
      expect(await repo.purge(T - 5, 100)).toBe(1)
      expect(await repo.getAlert('old-done')).toBeNull()
      expect(await repo.getDelivery('dd')).toBeNull()
      expect(await repo.getAlert('old-pending')).not.toBeNull()
      await repo.settle(
        'dp',
        { deliveryId: 'dp', at: T, ok: true, error: null, durationMs: 1 },
        { status: 'delivered' }
      )
      expect(await repo.purge(T - 5, 100)).toBe(1)
      expect(await repo.attemptsOf('dp')).toEqual([])
    })

    it('claims: one owner at a time, free again after release or when the lease runs out', async () => {
      // only this test's rows are due
      await repo.settle(
        'd2',
        { deliveryId: 'd2', at: T, ok: true, error: null, durationMs: 1 },
        { status: 'delivered' }
      )
      await repo.insertAlert(alert('lease', T), [row('l1', 'lease', T), row('l2', 'lease', T)])
      const a = await repo.claimDue(T, 'A', T + 1000, 10)
      expect(a.map((d) => d.id)).toEqual(['l1', 'l2'])
      // B sees nothing while A holds them
      expect(await repo.claimDue(T + 10, 'B', T + 2000, 10)).toEqual([])
      await repo.release(['l2'], 'B') // not B's: stays A's
      expect(await repo.claimDue(T + 10, 'B', T + 2000, 10)).toEqual([])
      await repo.release(['l2'], 'A')
      expect((await repo.claimDue(T + 10, 'B', T + 2000, 10)).map((d) => d.id)).toEqual(['l2'])
      // A restarted (same owner) takes l1 back at once; nobody else can before the lease ends
      expect((await repo.claimDue(T + 20, 'A', T + 1000, 10)).map((d) => d.id)).toEqual(['l1'])
      // A died holding l1: after its lease B takes it over (with its own l2); settling clears leases
      expect((await repo.claimDue(T + 1001, 'B', T + 3000, 10)).map((d) => d.id)).toEqual(['l1', 'l2'])
      for (const id of ['l1', 'l2'])
        await repo.settle(id, { deliveryId: id, at: T, ok: true, error: null, durationMs: 1 }, { status: 'delivered' })
    })

    it('delivery log: newest first, per alert in order, no payloads', async () => {
      const all = await repo.listDeliveries({ limit: 10 })
      expect(all.map((d) => d.id).sort()).toEqual(['d1', 'd2', 'l1', 'l2'])
      expect(all[0]).not.toHaveProperty('payload')
      expect((await repo.listDeliveries({ alertId: 'a1', limit: 10 })).length).toBe(2)
    })
  })
}
