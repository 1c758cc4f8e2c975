// The alerts box against real parts: a SQLite file, a real Mosquitto broker on 127.0.0.1 and a
// real HTTP receiver that checks the HMAC and dedupes by idempotency key. Events are fed as the
// event log emits them (the live RTSP path is covered in alerts-live.int.test.ts).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertsMigrations } from '../../src/main/alerts/migrations'
import type { AlertPayload } from '../../src/main/alerts/payload'
import { AlertService } from '../../src/main/alerts/service'
import { SqlAlertsRepository } from '../../src/main/alerts/sql-repository'
import { silentLogger } from '../../src/main/log/logger'
import type { SqlDatabase } from '../../src/main/store/sql/database'
import { openDatabase } from '../../src/main/store/sql/open'
import type { AlertRecord, Band, CameraView, EventRecord } from '../../src/shared/types'
import { skipUnless } from '../support/data'
import { mosquittoAvailable, startBroker, type Broker } from '../support/mosquitto'
import { startReceiver, type Receiver } from '../support/webhook-receiver'
import { waitFor } from '../support/wait'

const mq = mosquittoAvailable()
const skip = skipUnless('alerts delivery (Mosquitto)', [[mq.ok, mq.why ?? '']])
const SECRET = 'hmac-test-secret'

let seq = 0
function event(trackId: string, personId: string | null, band: Band, score: number): EventRecord {
  const at = Date.now()
  return {
    id: `e-${trackId}-${personId ?? 'u'}`,
    cameraId: 'cam1',
    trackId,
    band,
    personId,
    personName: personId === 'lin' ? 'Lin-Manuel Miranda' : personId === 'alex' ? 'Alex Lacamoire' : null,
    score,
    decision: band === 'review' ? 'pending' : 'auto',
    startedAt: at,
    updatedAt: at + seq++,
    box: { x: 0, y: 0, w: 10, h: 10 },
    crop: 'crops/2026-11-29/x.jpg',
    snapshot: 'snapshots/2026-11-29/x.jpg',
    reviewItemId: null
  }
}

function cameraView(state: 'online' | 'offline'): CameraView {
  return {
    id: 'cam1',
    name: 'Stage',
    urlRedacted: 'rtsp://127.0.0.1/cam',
    enabled: true,
    detectFps: 5,
    maxDetectWidth: 640,
    minFaceSize: 24,
    loop: false,
    status: {
      cameraId: 'cam1',
      state,
      reason: null,
      fps: 0,
      lastFrameAt: null,
      width: null,
      height: null,
      restarts: 0
    }
  }
}

describe.skipIf(skip)('alerts: webhook + MQTT delivery with a real broker and receiver', () => {
  let dir: string
  let db: SqlDatabase
  let service: AlertService
  let broker: Broker
  let receiver: Receiver
  let sub: MqttClient
  const mqttEvents: AlertPayload[] = []
  const retained = new Map<string, string>()
  const raised: AlertRecord[] = []
  let webhookId = ''
  let mqttId = ''

  const open = async (): Promise<AlertService> => {
    db = await openDatabase({ dataDir: dir, migrations: alertsMigrations })
    return AlertService.open({
      repo: new SqlAlertsRepository(db),
      logger: silentLogger,
      cameras: () => [{ id: 'cam1', name: 'Stage', state: 'online' }],
      backoff: { baseMs: 300, maxMs: 2000, jitter: 0 },
      mqttReconnect: { baseMs: 300, maxMs: 1000, jitter: 0 },
      pollMs: 1000,
      onAlert: (a) => {
        if (a.acknowledgedAt === null) raised.push(a)
      }
    })
  }
  const newOn = (alertId: string): AlertPayload[] =>
    mqttEvents.filter((p) => p.type === 'new' && p.alert.id === alertId)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-alerts-'))
    broker = await startBroker()
    receiver = await startReceiver(SECRET)
    // a persistent session: messages published while it reconnects after a broker restart wait for it
    sub = mqtt.connect(broker.url, { clientId: `vigil-test-sub-${process.pid}`, clean: false, reconnectPeriod: 300 })
    sub.on('message', (topic, buf, packet) => {
      const text = buf.toString()
      if (topic === 'vigil/events') mqttEvents.push(JSON.parse(text) as AlertPayload)
      if (packet.retain || topic.endsWith('/status') || topic.endsWith('/available') || topic.endsWith('/person'))
        retained.set(topic, text)
    })
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe('vigil/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())))
      sub.once('error', reject)
    })
    service = await open()
    webhookId = (
      await service.saveTarget({ name: 'hook', kind: 'webhook', enabled: true, url: receiver.url, secret: SECRET })
    ).id
    mqttId = (await service.saveTarget({ name: 'broker', kind: 'mqtt', enabled: true, url: broker.url })).id
    await service.saveRule({
      name: 'Lin on the watch list',
      enabled: true,
      trigger: 'face',
      who: { kind: 'people', personIds: ['lin'] },
      bands: ['match', 'review'],
      cameraIds: [],
      schedule: null,
      cooldownSec: 300,
      offlineAfterSec: 0,
      onOnline: false,
      onOverload: false,
      actions: { console: true, desktop: true, sound: true, targetIds: [webhookId, mqttId] }
    })
    await service.saveRule({
      name: 'Camera health',
      enabled: true,
      trigger: 'camera',
      who: { kind: 'anyKnown' },
      bands: [],
      cameraIds: [],
      schedule: null,
      cooldownSec: 0,
      offlineAfterSec: 1,
      onOnline: true,
      onOverload: true,
      actions: { console: true, desktop: false, sound: false, targetIds: [mqttId] }
    })
    await waitFor('broker link', 10_000, () => service.linkStates()[mqttId]?.connected)
  }, 60_000)

  afterAll(async () => {
    await service?.close()
    await db?.close()
    await sub?.endAsync(true)
    await broker?.dispose()
    await receiver?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('one webhook (valid HMAC) and one MQTT message per track of a watched person, none for others', async () => {
    // track 1: many updates; track 2: review firming up to match; track 3: Alex
    for (let i = 0; i < 5; i++) service.onEvent(event('t1', 'lin', 'match', 0.5 + i * 0.01))
    service.onEvent(event('t2', 'lin', 'review', 0.35))
    service.onEvent(event('t2', 'lin', 'match', 0.45))
    for (let i = 0; i < 3; i++) service.onEvent(event('t3', 'alex', 'match', 0.6))
    service.onEvent(event('t4', null, 'unknown', 0.1))
    await waitFor('2 webhooks', 10_000, () => receiver.unique().length >= 2)
    await waitFor('2 MQTT new', 10_000, () => mqttEvents.filter((p) => p.type === 'new').length >= 2)
    await new Promise((r) => setTimeout(r, 500))
    const hooks = receiver.unique()
    expect(hooks.map((h) => h.payload.alert.trackId).sort()).toEqual(['t1', 't2'])
    expect(hooks.every((h) => h.signatureOk)).toBe(true)
    expect(hooks.every((h) => h.payload.alert.person?.name === 'Lin-Manuel Miranda')).toBe(true)
    const news = mqttEvents.filter((p) => p.type === 'new')
    expect(news.map((p) => p.alert.trackId).sort()).toEqual(['t1', 't2'])
    expect((JSON.parse(retained.get('vigil/cam1/person') ?? '{}') as AlertPayload).alert.person?.id).toBe('lin')
    expect(retained.get('vigil/available')).toBe('online')
    // a better score of a track with an alert goes out as 'update'; its end as 'end'
    service.onEvent(event('t1', 'lin', 'match', 0.9))
    service.onTrackEnded('cam1', 't1')
    await waitFor('update and end', 10_000, () =>
      ['update', 'end'].every((t) => mqttEvents.some((p) => p.type === t && p.alert.trackId === 't1'))
    )
  }, 30_000)

  it('broker stopped for 10 s: alerts raised meanwhile are published when it returns, none lost', async () => {
    await broker.stop()
    await waitFor('link down', 10_000, () => !service.linkStates()[mqttId]?.connected)
    const before = raised.length
    for (const t of ['o1', 'o2', 'o3']) service.onEvent(event(t, 'lin', 'match', 0.6))
    await waitFor('3 alerts stored', 5000, () => raised.length >= before + 3)
    const outage = raised.slice(before)
    await new Promise((r) => setTimeout(r, 10_000))
    const pending = await service.handlers()['alerts.deliveries']({ limit: 50 })
    const mqttPending = pending.filter((d) => outage.some((a) => a.id === d.alertId) && d.targetKind === 'mqtt')
    expect(mqttPending.every((d) => d.status === 'pending' && d.attempts >= 1 && d.lastError)).toBe(true)
    await broker.restart()
    await waitFor('every outage alert on vigil/events', 20_000, () => outage.every((a) => newOn(a.id).length >= 1))
    // and the webhook was never held up by the broker
    expect(outage.every((a) => receiver.unique().some((h) => h.payload.alert.id === a.id))).toBe(true)
  }, 60_000)

  it('receiver down: retried with backoff, each delivered once by idempotency key after it returns', async () => {
    await receiver.stop()
    const before = raised.length
    for (const t of ['w1', 'w2']) service.onEvent(event(t, 'lin', 'match', 0.6))
    await waitFor('2 alerts', 5000, () => raised.length >= before + 2)
    const ids = raised.slice(before).map((a) => a.id)
    await new Promise((r) => setTimeout(r, 2500))
    const log = await service.handlers()['alerts.deliveries']({ limit: 50 })
    const hooks = log.filter((d) => ids.includes(d.alertId) && d.targetKind === 'webhook')
    expect(hooks).toHaveLength(2)
    expect(
      hooks.every((d) => d.status === 'pending' && d.attempts >= 2 && /ECONNREFUSED/.test(d.lastError ?? ''))
    ).toBe(true)
    await receiver.start()
    await waitFor('both delivered', 15_000, () =>
      ids.every((id) => receiver.unique().some((h) => h.payload.alert.id === id))
    )
    expect(receiver.duplicates).toBe(0)
  }, 40_000)

  it('pending deliveries survive a restart of the service and are sent by the next run', async () => {
    await receiver.stop()
    const before = raised.length
    service.onEvent(event('r1', 'lin', 'match', 0.6))
    await waitFor('alert', 5000, () => raised.length > before)
    const id = raised[raised.length - 1]!.id
    await service.close()
    await db.close()
    await receiver.start()
    service = await open()
    await waitFor('delivered by the new run', 15_000, () => receiver.unique().some((h) => h.payload.alert.id === id))
    const rules = await service.handlers()['alertRules.list']()
    expect(rules.map((r) => r.name)).toContain('Lin on the watch list')
  }, 40_000)

  it('acknowledge is audited with operator and time; first acknowledgement wins', async () => {
    const a = raised.find((x) => x.kind === 'face')!
    const acked = await service.acknowledge(a.id, 'alice')
    expect(acked.acknowledgedBy).toBe('alice')
    expect(acked.acknowledgedAt).toBeGreaterThan(0)
    const again = await service.acknowledge(a.id, 'bob')
    expect(again.acknowledgedBy).toBe('alice')
    const open = await service.handlers()['alerts.list']({ unacknowledgedOnly: true })
    expect(open.some((x) => x.id === a.id)).toBe(false)
    await expect(service.acknowledge('nope', 'alice')).rejects.toThrow(/does not exist/)
  })

  it('camera offline for longer than N s, back online, overload; retained status on MQTT', async () => {
    const before = raised.length
    service.onCameraStatus(cameraView('offline'))
    await waitFor('offline alert', 5000, () => raised.slice(before).some((a) => a.kind === 'camera_offline'))
    await waitFor('retained offline', 5000, () => retained.get('vigil/cam1/status') === 'offline')
    service.onCameraStatus(cameraView('online'))
    await waitFor('online alert', 5000, () => raised.slice(before).some((a) => a.kind === 'camera_online'))
    await waitFor('retained online', 5000, () => retained.get('vigil/cam1/status') === 'online')
    service.engineOverloaded({ reason: 'queue full, dropping frames' })
    service.engineOverloaded({ reason: 'queue full, dropping frames' })
    await waitFor('overload alert', 5000, () => raised.slice(before).some((a) => a.kind === 'engine_overloaded'))
    expect(raised.slice(before).filter((a) => a.kind === 'engine_overloaded')).toHaveLength(1)
  }, 20_000)

  it('send test alert shows in the delivery log', async () => {
    const d = await service.testTarget(webhookId)
    await waitFor('test delivered', 10_000, () => receiver.unique().some((h) => h.key === d.id))
    // the receiver has it before the worker has recorded the answer
    const until = Date.now() + 5000
    let log = await service.handlers()['alerts.deliveries']({ alertId: d.alertId })
    while (log[0]?.status !== 'delivered' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      log = await service.handlers()['alerts.deliveries']({ alertId: d.alertId })
    }
    expect(log[0]).toMatchObject({ status: 'delivered', message: 'test', attempts: 1 })
  }, 15_000)
})
