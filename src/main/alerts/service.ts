// The alerts box: turns events and camera states into alerts by the operator's rules, stores each
// alert with its deliveries (durable outbox), and drives the webhook and MQTT workers.
// createBackend feeds it (onEvent, onTrackEnded, onCameraStatus) and serves its handlers.
import { randomUUID } from 'node:crypto'
import { ApiError } from '../../shared/api'
import type {
  AlertKind,
  AlertRecord,
  AlertRule,
  AlertRuleInput,
  AlertTargetInput,
  AlertTargetView,
  CameraState,
  CameraView,
  DeliveryMessage,
  DeliveryRecord,
  EventRecord
} from '../../shared/types'
import { redactUrl } from '../cameras/url'
import type { HandlersFor } from '../contracts'
import type { Logger } from '../log/logger'
import type { BackoffOptions } from './backoff'
import { MqttLink, type CameraBrief } from './mqtt-link'
import { OutboxWorker } from './outbox'
import { buildPayload, topics, type AlertPayload } from './payload'
import type { AlertsRepository, OutboxEntry, StoredTarget } from './repository'
import { cameraMatches, Cooldown, faceRuleMatches, inSchedule } from './rules'
import { postWebhook, type SendOutcome } from './webhook'

export interface AlertServiceOptions {
  repo: AlertsRepository
  logger: Logger
  cameras: () => CameraBrief[]
  /** push to the consoles: new and acknowledged alerts, settled deliveries */
  onAlert?: (a: AlertRecord) => void
  onDelivery?: (d: DeliveryRecord) => void
  /** base of absolute crop/snapshot URLs in payloads (null: keys only) */
  mediaBaseUrl?: string | null
  backoff?: BackoffOptions
  maxAttempts?: number
  pollMs?: number
  mqttReconnect?: BackoffOptions
  /**
   * who this engine is among instances sharing the database (e.g. host and data dir): its outbox
   * rows from a killed run are resent at once after a restart; default random per run
   */
  instance?: string
  /** alerts older than this many days are removed (hourly), default 30 */
  retentionDays?: () => number
  now?: () => number
}

/** What the face-memory work plugs in: the recurring stranger group of an event, if any. */
export type StrangerGroupResolver = (e: EventRecord) => string | null

/** What the streams work reports when the engine cannot keep up. */
export interface OverloadSignal {
  cameraId?: string | null
  reason: string
}

const DOWN: readonly CameraState[] = ['offline', 'error']

function targetView(t: StoredTarget): AlertTargetView {
  const { secret, password, caPem, ...rest } = t
  void caPem
  return { ...rest, url: redactUrl(t.url), secretSet: secret !== '', passwordSet: password !== '' }
}

interface Outage {
  since: number
  /** rules that raised an offline alert for this outage */
  alerted: Set<string>
  timers: NodeJS.Timeout[]
}

export class AlertService {
  private rules: AlertRule[] = []
  private targets = new Map<string, StoredTarget>()
  private readonly links = new Map<string, MqttLink>()
  private readonly cooldown = new Cooldown()
  private readonly worker: OutboxWorker
  private readonly outages = new Map<string, Outage>()
  private readonly lastState = new Map<string, CameraState>()
  /** live MQTT 'update' messages: best score published per alert of a track still in view */
  private readonly trackAlerts = new Map<string, { alertId: string; score: number; mqtt: string[] }[]>()
  private groupOf: StrangerGroupResolver = () => null
  private readonly now: () => number
  private readonly log: Logger
  /** alert writes in flight, awaited by close() */
  private readonly pending = new Set<Promise<unknown>>()
  private closed = false
  private retentionTimer: NodeJS.Timeout | null = null

  private constructor(private readonly o: AlertServiceOptions) {
    this.now = o.now ?? Date.now
    this.log = o.logger
    this.worker = new OutboxWorker({
      repo: o.repo,
      deliver: (e) => this.deliver(e),
      logger: o.logger,
      backoff: o.backoff,
      maxAttempts: o.maxAttempts,
      pollMs: o.pollMs,
      owner: o.instance,
      // one attempt lasts at most the slowest webhook timeout (MQTT acks: 10 s), plus slack
      leaseMs: () => Math.max(10_000, ...[...this.targets.values()].map((t) => t.timeoutMs)) + 10_000,
      now: this.now,
      onSettled: (d) => o.onDelivery?.(d)
    })
  }

  /** Loads rules and targets, connects the brokers and resumes the outbox left by the last run. */
  static async open(o: AlertServiceOptions): Promise<AlertService> {
    const s = new AlertService(o)
    s.rules = await o.repo.listRules()
    for (const t of await o.repo.listTargets()) s.targets.set(t.id, t)
    for (const t of s.targets.values()) s.startLink(t)
    s.worker.start()
    // the alert log grows with every track: keep it as long as the event history
    s.retentionTimer = setInterval(() => s.track(s.purge()), 3_600_000)
    s.retentionTimer.unref()
    return s
  }

  /** Removes alerts older than the retention (never ones with a delivery still pending). */
  async purge(): Promise<number> {
    const days = this.o.retentionDays?.() ?? 30
    const before = this.now() - days * 86_400_000
    let total = 0
    for (;;) {
      const n = await this.o.repo.purge(before, 500)
      total += n
      if (n < 500 || this.closed) break
    }
    if (total > 0) this.log.info({ removed: total, days }, 'old alerts removed')
    return total
  }

  /** The face-memory work sets this once groups exist. */
  setStrangerGroupResolver(fn: StrangerGroupResolver): void {
    this.groupOf = fn
  }

  // ---- inputs ----

  /** Every event upsert (live and operator decisions). */
  onEvent(e: EventRecord): void {
    if (this.closed) return
    const at = this.now()
    const facts = {
      cameraId: e.cameraId,
      trackId: e.trackId,
      band: e.band,
      personId: e.personId,
      groupId: this.groupOf(e)
    }
    for (const rule of this.rules) {
      if (!faceRuleMatches(rule, facts)) continue
      if (!inSchedule(rule.schedule, new Date(at))) continue
      // decided synchronously, before any await: two quick updates of one track give one alert
      if (!this.cooldown.take(Cooldown.key(rule.id, e.cameraId, e.trackId), rule.cooldownSec, at)) continue
      this.track(this.raise(rule, 'face', at, e.cameraId, e))
    }
    this.liveUpdate(e)
  }

  /** The live processor finished a track: MQTT consumers get 'end' for its alerts. */
  onTrackEnded(cameraId: string, trackId: string): void {
    if (this.closed) return
    this.trackAlerts.delete(`${cameraId}\u0000${trackId}`)
    this.track(this.enqueueEnds(cameraId, trackId))
  }

  onCameraStatus(view: CameraView): void {
    if (this.closed) return
    const id = view.id
    const state = view.status.state
    const prev = this.lastState.get(id)
    this.lastState.set(id, state)
    for (const link of this.links.values()) {
      if (link.connected && prev !== state) link.cameraStatus(id, state).catch(() => undefined)
    }
    const outage = this.outages.get(id)
    if (DOWN.includes(state)) {
      if (outage) return
      const o: Outage = { since: this.now(), alerted: new Set(), timers: [] }
      this.outages.set(id, o)
      for (const rule of this.cameraRules(id)) {
        const t = setTimeout(() => this.offlineDue(rule.id, id, o), rule.offlineAfterSec * 1000)
        t.unref()
        o.timers.push(t)
      }
      return
    }
    if (state === 'online' && outage) {
      this.endOutage(id, outage)
      for (const rule of this.cameraRules(id)) {
        if (rule.onOnline && outage.alerted.has(rule.id) && inSchedule(rule.schedule, new Date(this.now()))) {
          const secs = Math.round((this.now() - outage.since) / 1000)
          this.track(this.raise(rule, 'camera_online', this.now(), id, null, `back online after ${secs} s offline`))
        }
      }
    }
    if (state === 'disabled' && outage) this.endOutage(id, outage)
  }

  /** Hook for the streams work: the engine drops frames / cannot keep up. */
  engineOverloaded(signal: OverloadSignal): void {
    if (this.closed) return
    const at = this.now()
    for (const rule of this.rules) {
      if (!rule.enabled || rule.trigger !== 'camera' || !rule.onOverload) continue
      if (signal.cameraId && !cameraMatches(rule, signal.cameraId)) continue
      if (!inSchedule(rule.schedule, new Date(at))) continue
      // an overload lasts: at most one alert per rule per cooldown (at least a minute)
      const key = Cooldown.key(rule.id, signal.cameraId ?? '', 'overload')
      if (!this.cooldown.take(key, Math.max(60, rule.cooldownSec), at)) continue
      this.track(this.raise(rule, 'engine_overloaded', at, signal.cameraId ?? null, null, signal.reason))
    }
  }

  // ---- alerts ----

  private cameraRules(cameraId: string): AlertRule[] {
    return this.rules.filter((r) => r.enabled && r.trigger === 'camera' && cameraMatches(r, cameraId))
  }

  private offlineDue(ruleId: string, cameraId: string, outage: Outage): void {
    if (this.outages.get(cameraId) !== outage || this.closed) return
    const rule = this.rules.find((r) => r.id === ruleId)
    if (!rule || !rule.enabled || !inSchedule(rule.schedule, new Date(this.now()))) return
    outage.alerted.add(rule.id)
    const secs = Math.round((this.now() - outage.since) / 1000)
    this.track(this.raise(rule, 'camera_offline', this.now(), cameraId, null, `offline for ${secs} s`))
  }

  private endOutage(id: string, o: Outage): void {
    for (const t of o.timers) clearTimeout(t)
    this.outages.delete(id)
  }

  private cameraName(id: string | null): string | null {
    if (id === null) return null
    return this.o.cameras().find((c) => c.id === id)?.name ?? null
  }

  private async raise(
    rule: AlertRule,
    kind: AlertKind,
    at: number,
    cameraId: string | null,
    e: EventRecord | null,
    detail?: string
  ): Promise<AlertRecord> {
    const cameraName = this.cameraName(cameraId)
    const where = cameraName ?? cameraId ?? 'engine'
    const message =
      kind === 'face'
        ? `${e?.personName ?? 'Unknown person'} on ${where}${e && e.band !== 'unknown' ? ` (${e.band}, ${(e.score * 100).toFixed(0)} %)` : ''}`
        : kind === 'engine_overloaded'
          ? `Engine overloaded${cameraId ? ` on ${where}` : ''}: ${detail ?? ''}`
          : `${where} ${detail ?? ''}`.trim()
    const alert: AlertRecord = {
      id: randomUUID(),
      kind,
      ruleId: rule.id,
      ruleName: rule.name,
      at,
      cameraId,
      cameraName,
      eventId: e?.id ?? null,
      trackId: e?.trackId ?? null,
      personId: e?.personId ?? null,
      personName: e?.personName ?? null,
      band: e?.band ?? null,
      score: e ? e.score : null,
      crop: e?.crop ?? null,
      snapshot: e?.snapshot ?? null,
      message,
      console: rule.actions.console,
      desktop: rule.actions.desktop,
      sound: rule.actions.sound,
      acknowledgedBy: null,
      acknowledgedAt: null
    }
    const targets = rule.actions.targetIds
      .map((id) => this.targets.get(id))
      .filter((t): t is StoredTarget => t !== undefined && t.enabled)
    const rows = targets.map((t) => this.outboxRow(alert, t, 'new'))
    await this.o.repo.insertAlert(alert, rows)
    if (e) {
      const k = `${e.cameraId}\u0000${e.trackId}`
      const list = this.trackAlerts.get(k) ?? []
      list.push({ alertId: alert.id, score: e.score, mqtt: targets.filter((t) => t.kind === 'mqtt').map((t) => t.id) })
      this.trackAlerts.set(k, list)
    }
    this.log.info({ alert: alert.id, rule: rule.id, kind, camera: cameraId, deliveries: rows.length }, 'alert raised')
    this.o.onAlert?.(alert)
    if (rows.length > 0) this.worker.kick()
    return alert
  }

  private outboxRow(alert: AlertRecord, t: StoredTarget, message: DeliveryMessage): OutboxEntry {
    const id = randomUUID()
    const payload: AlertPayload = buildPayload(alert, message, id, this.o.mediaBaseUrl ?? null)
    return {
      id,
      alertId: alert.id,
      targetId: t.id,
      targetName: t.name,
      targetKind: t.kind,
      message,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: this.now(),
      lastError: null,
      createdAt: this.now(),
      deliveredAt: null,
      payload: JSON.stringify(payload)
    }
  }

  private async enqueueEnds(cameraId: string, trackId: string): Promise<void> {
    const alerts = await this.o.repo.alertsOfTrack(cameraId, trackId)
    const rows: OutboxEntry[] = []
    for (const a of alerts) {
      const sent = await this.o.repo.listDeliveries({ alertId: a.id, limit: 100 })
      if (sent.some((d) => d.message === 'end')) continue
      for (const d of sent) {
        const t = this.targets.get(d.targetId)
        if (d.message === 'new' && d.targetKind === 'mqtt' && t && t.enabled) rows.push(this.outboxRow(a, t, 'end'))
      }
    }
    if (rows.length === 0) return
    await this.o.repo.enqueue(rows)
    this.worker.kick()
  }

  /** Best-effort 'update' on MQTT while a track with an alert improves; not queued when offline. */
  private liveUpdate(e: EventRecord): void {
    const list = this.trackAlerts.get(`${e.cameraId}\u0000${e.trackId}`)
    if (!list) return
    for (const entry of list) {
      if (e.score <= entry.score) continue
      entry.score = e.score
      for (const targetId of entry.mqtt) {
        const link = this.links.get(targetId)
        if (!link?.connected) continue
        const send = async (): Promise<void> => {
          const a = await this.o.repo.getAlert(entry.alertId)
          if (!a) return
          const updated: AlertRecord = { ...a, score: e.score, band: e.band, crop: e.crop, snapshot: e.snapshot }
          const msg = JSON.stringify(buildPayload(updated, 'update', randomUUID(), this.o.mediaBaseUrl ?? null))
          await link.publish(topics.events(link.topicPrefix()), msg)
        }
        // best effort by design: a lost update is superseded by the next one or by 'end'
        send().catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'mqtt update not sent'))
      }
    }
  }

  private track<T>(p: Promise<T>): void {
    const q = p.catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'alert failed'))
    this.pending.add(q)
    void q.finally(() => this.pending.delete(q))
  }

  // ---- delivery ----

  private async deliver(e: OutboxEntry): Promise<SendOutcome> {
    const t = this.targets.get(e.targetId)
    if (!t) return { ok: false, error: 'target was deleted', permanent: true }
    // kept pending: enabling the target again sends what waited
    if (!t.enabled) return { ok: false, error: 'target is disabled', permanent: false }
    if (e.targetKind === 'webhook')
      return postWebhook({ url: t.url, secret: t.secret, timeoutMs: t.timeoutMs }, e.id, e.payload)
    const link = this.links.get(t.id)
    if (!link) return { ok: false, error: 'target is disabled', permanent: false }
    try {
      const prefix = link.topicPrefix()
      await link.publish(topics.events(prefix), e.payload)
      const p = JSON.parse(e.payload) as AlertPayload
      if (e.message === 'new' && p.alert.kind === 'face' && p.alert.camera) {
        await link.publish(topics.person(prefix, p.alert.camera.id), e.payload, { retain: true })
      }
      return { ok: true, error: null, permanent: false }
    } catch (err) {
      return { ok: false, error: (err as Error).message, permanent: false }
    }
  }

  private startLink(t: StoredTarget): void {
    if (t.kind !== 'mqtt' || !t.enabled || this.closed) return
    const link = new MqttLink({
      target: t,
      logger: this.log.child({ box: 'alerts', target: t.id }),
      cameras: () => this.o.cameras().map((c) => ({ ...c, state: this.lastState.get(c.id) ?? c.state })),
      backoff: this.o.mqttReconnect,
      onConnect: () => {
        // the broker is back: what waited for it goes now, not at its backoff time
        void this.o.repo
          .dueNow(t.id, this.now())
          .then(() => this.worker.kick())
          .catch(() => undefined)
      }
    })
    this.links.set(t.id, link)
    link.start()
  }

  private async stopLink(id: string): Promise<void> {
    const link = this.links.get(id)
    this.links.delete(id)
    await link?.close()
  }

  /** Whether each MQTT target is connected (for the console and tests). */
  linkStates(): Record<string, { connected: boolean; error: string | null }> {
    const out: Record<string, { connected: boolean; error: string | null }> = {}
    for (const [id, l] of this.links) out[id] = { connected: l.connected, error: l.error }
    return out
  }

  // ---- operations ----

  async saveRule(input: AlertRuleInput): Promise<AlertRule> {
    for (const id of input.actions.targetIds) {
      if (!this.targets.has(id)) throw new ApiError('invalid_request', `rule: target ${id} does not exist`)
    }
    const prev = input.id ? this.rules.find((r) => r.id === input.id) : undefined
    if (input.id && !prev) throw new ApiError('not_found', `rule ${input.id} does not exist`)
    const at = this.now()
    const rule: AlertRule = { ...input, id: prev?.id ?? randomUUID(), createdAt: prev?.createdAt ?? at, updatedAt: at }
    await this.o.repo.saveRule(rule)
    this.rules = prev ? this.rules.map((r) => (r.id === rule.id ? rule : r)) : [...this.rules, rule]
    return rule
  }

  async deleteRule(id: string): Promise<void> {
    if (!(await this.o.repo.deleteRule(id))) throw new ApiError('not_found', `rule ${id} does not exist`)
    this.rules = this.rules.filter((r) => r.id !== id)
  }

  async saveTarget(input: AlertTargetInput): Promise<AlertTargetView> {
    const prev = input.id ? this.targets.get(input.id) : undefined
    if (input.id && !prev) throw new ApiError('not_found', `target ${input.id} does not exist`)
    if (prev && prev.kind !== input.kind) throw new ApiError('invalid_request', 'a target cannot change its kind')
    const at = this.now()
    // the console only ever sees the redacted URL: sending it back unchanged keeps the stored one
    const url = prev && input.url === redactUrl(prev.url) ? prev.url : input.url
    const t: StoredTarget = {
      id: prev?.id ?? randomUUID(),
      name: input.name,
      kind: input.kind,
      enabled: input.enabled,
      url,
      secret: input.secret ?? prev?.secret ?? '',
      timeoutMs: input.timeoutMs ?? prev?.timeoutMs ?? 10_000,
      username: input.username !== undefined ? input.username || null : (prev?.username ?? null),
      password: input.password ?? prev?.password ?? '',
      topicPrefix: input.topicPrefix ?? prev?.topicPrefix ?? 'vigil',
      haDiscovery: input.haDiscovery ?? prev?.haDiscovery ?? false,
      caPem: input.caPem ?? prev?.caPem ?? '',
      rejectUnauthorized: input.rejectUnauthorized ?? prev?.rejectUnauthorized ?? true,
      createdAt: prev?.createdAt ?? at,
      updatedAt: at
    }
    await this.o.repo.saveTarget(t)
    this.targets.set(t.id, t)
    if (t.kind === 'mqtt') {
      await this.stopLink(t.id)
      this.startLink(t)
    }
    return targetView(t)
  }

  async deleteTarget(id: string): Promise<void> {
    if (this.rules.some((r) => r.actions.targetIds.includes(id))) {
      throw new ApiError('conflict', 'target is used by a rule: remove it from the rule first')
    }
    if (!(await this.o.repo.deleteTarget(id))) throw new ApiError('not_found', `target ${id} does not exist`)
    this.targets.delete(id)
    await this.stopLink(id)
  }

  async testTarget(id: string): Promise<DeliveryRecord> {
    const t = this.targets.get(id)
    if (!t) throw new ApiError('not_found', `target ${id} does not exist`)
    const at = this.now()
    const alert: AlertRecord = {
      id: randomUUID(),
      kind: 'test',
      ruleId: null,
      ruleName: 'test',
      at,
      cameraId: null,
      cameraName: null,
      eventId: null,
      trackId: null,
      personId: null,
      personName: null,
      band: null,
      score: null,
      crop: null,
      snapshot: null,
      message: `Test alert to ${t.name}`,
      console: false,
      desktop: false,
      sound: false,
      acknowledgedBy: null,
      acknowledgedAt: null
    }
    const row = this.outboxRow(alert, t, 'test')
    await this.o.repo.insertAlert(alert, [row])
    this.worker.kick()
    const { payload, ...rec } = row
    void payload
    return rec
  }

  async acknowledge(id: string, operator: string): Promise<AlertRecord> {
    const a = await this.o.repo.acknowledge(id, operator, this.now())
    if (!a) throw new ApiError('not_found', `alert ${id} does not exist`)
    this.log.info({ alert: id, operator: a.acknowledgedBy, at: a.acknowledgedAt }, 'alert acknowledged')
    this.o.onAlert?.(a)
    return a
  }

  handlers(): HandlersFor<'alertRules'> & HandlersFor<'alertTargets'> & HandlersFor<'alerts'> {
    return {
      'alertRules.list': async () => [...this.rules],
      'alertRules.save': (r) => this.saveRule(r),
      'alertRules.delete': async ({ id }) => {
        await this.deleteRule(id)
        return { deleted: true }
      },
      'alertTargets.list': async () => [...this.targets.values()].map(targetView),
      'alertTargets.save': (t) => this.saveTarget(t),
      'alertTargets.delete': async ({ id }) => {
        await this.deleteTarget(id)
        return { deleted: true }
      },
      'alertTargets.test': ({ id }) => this.testTarget(id),
      'alerts.list': (q) =>
        this.o.repo.listAlerts({ limit: q?.limit ?? 100, unacknowledgedOnly: q?.unacknowledgedOnly }),
      'alerts.acknowledge': ({ id, operator }) => this.acknowledge(id, operator),
      'alerts.deliveries': (q) => this.o.repo.listDeliveries({ alertId: q?.alertId, limit: q?.limit ?? 200 })
    }
  }

  /** Alert writes finish, the worker stops after its attempt in flight, brokers get 'offline'. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.retentionTimer) clearInterval(this.retentionTimer)
    for (const [id, o] of this.outages) this.endOutage(id, o)
    await Promise.all([...this.pending])
    await this.worker.stop()
    await Promise.all([...this.links.keys()].map((id) => this.stopLink(id)))
  }
}
