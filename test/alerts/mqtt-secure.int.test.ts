// MQTT targets against a real Mosquitto that demands TLS and a password: the link connects with
// the private CA and the right credentials, publishes the availability and a test alert, and
// says why when the password or the certificate check fails.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { generate } from 'selfsigned'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertsMigrations } from '../../src/main/alerts/migrations'
import { AlertService } from '../../src/main/alerts/service'
import { SqlAlertsRepository } from '../../src/main/alerts/sql-repository'
import { silentLogger } from '../../src/main/log/logger'
import type { SqlDatabase } from '../../src/main/store/sql/database'
import { openDatabase } from '../../src/main/store/sql/open'
import { skipUnless } from '../support/data'
import { mosquittoAvailable, startBroker, type Broker } from '../support/mosquitto'
import { waitFor } from '../support/wait'

const mq = mosquittoAvailable()
const skip = skipUnless('alerts MQTT over TLS with a password (Mosquitto)', [[mq.ok, mq.why ?? '']])

describe.skipIf(skip)('alerts: MQTT with TLS (private CA) and user/password', () => {
  let dir: string
  let db: SqlDatabase
  let service: AlertService
  let broker: Broker
  let sub: MqttClient
  let ca = ''
  const got = new Map<string, string>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-alerts-tls-'))
    const caPems = await generate([{ name: 'commonName', value: 'Vigil test CA' }], {
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      ]
    })
    const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      ca: { key: caPems.private, cert: caPems.cert },
      extensions: [
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
        { name: 'extKeyUsage', serverAuth: true }
      ]
    })
    ca = caPems.cert
    broker = await startBroker({
      tls: { cert: server.cert, key: server.private, ca },
      users: { vigil: 'right-password', watcher: 'watch' }
    })
    sub = mqtt.connect(broker.url, { ca: [ca], username: 'watcher', password: 'watch', reconnectPeriod: 300 })
    sub.on('message', (topic, buf) => got.set(topic, buf.toString()))
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe('secure/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())))
      sub.once('error', reject)
    })
    db = await openDatabase({ dataDir: dir, migrations: alertsMigrations })
    service = await AlertService.open({
      repo: new SqlAlertsRepository(db),
      logger: silentLogger,
      cameras: () => [{ id: 'cam1', name: 'Gate', state: 'online' }],
      backoff: { baseMs: 300, maxMs: 1000, jitter: 0 },
      mqttReconnect: { baseMs: 300, maxMs: 1000, jitter: 0 },
      pollMs: 1000
    })
  }, 60_000)

  afterAll(async () => {
    await service?.close()
    await db?.close()
    await sub?.endAsync(true)
    await broker?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('connects with the CA and the password; availability, camera status and a test alert arrive', async () => {
    const t = await service.saveTarget({
      name: 'secure',
      kind: 'mqtt',
      enabled: true,
      url: broker.url,
      username: 'vigil',
      password: 'right-password',
      caPem: ca,
      topicPrefix: 'secure',
      haDiscovery: false
    })
    expect(t).toMatchObject({ passwordSet: true, username: 'vigil' })
    expect(JSON.stringify(t)).not.toContain('right-password')
    await waitFor('connected', 10_000, () => service.linkStates()[t.id]?.connected)
    await waitFor('availability', 5000, () => got.get('secure/available') === 'online')
    await waitFor('retained camera status', 5000, () => got.get('secure/cam1/status') === 'online')
    const d = await service.testTarget(t.id)
    await waitFor('test alert on secure/events', 5000, () => got.get('secure/events')?.includes(d.id))
  }, 30_000)

  it('a wrong password or an unknown CA keeps it disconnected and says why', async () => {
    const wrong = await service.saveTarget({
      name: 'wrong password',
      kind: 'mqtt',
      enabled: true,
      url: broker.url,
      username: 'vigil',
      password: 'nope',
      caPem: ca
    })
    const noCa = await service.saveTarget({ name: 'no CA', kind: 'mqtt', enabled: true, url: broker.url })
    const states = await waitFor('both errors', 10_000, () => {
      const s = service.linkStates()
      return s[wrong.id]?.error && s[noCa.id]?.error ? s : null
    })
    expect(states[wrong.id]).toMatchObject({ connected: false })
    expect(states[wrong.id]!.error).toMatch(/not authori[sz]ed|bad user name or password/i)
    expect(states[noCa.id]).toMatchObject({ connected: false })
    expect(states[noCa.id]!.error).toMatch(/certificate/i)
  }, 20_000)
})
