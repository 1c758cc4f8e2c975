// One connection to one MQTT broker (one 'mqtt' target). Frigate-like topics:
//   <prefix>/available          'online' / 'offline' (retained; the last will says 'offline')
//   <prefix>/events             alert payloads, type new / update / end
//   <prefix>/<camera>/person    the last alert payload of that camera (retained)
//   <prefix>/<camera>/status    'online' / 'offline' (retained)
// plus optional Home Assistant discovery. The link reconnects itself with exponential backoff;
// publishing while disconnected fails at once (the outbox retries), so nothing waits in the
// client's memory where a crash would lose it.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { CameraState } from '../../shared/types'
import type { Logger } from '../log/logger'
import { backoffMs, type BackoffOptions } from './backoff'
import { cameraStatusPayload, discoveryMessages, topics } from './payload'
import type { StoredTarget } from './repository'

export interface CameraBrief {
  id: string
  name: string
  state: CameraState
}

export interface MqttLinkOptions {
  target: StoredTarget
  logger: Logger
  /** current cameras, republished (status, discovery) on every connect */
  cameras: () => CameraBrief[]
  /** the link (re)connected: pending outbox rows for it should go now */
  onConnect: () => void
  backoff?: BackoffOptions
  /** a publish not acknowledged by then counts as failed, ms */
  publishTimeoutMs?: number
}

const RECONNECT: BackoffOptions = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 }

export class MqttLink {
  private client: MqttClient | null = null
  private timer: NodeJS.Timeout | null = null
  private failures = 0
  private closed = false
  private readonly prefix: string
  private lastError: string | null = null

  constructor(private readonly o: MqttLinkOptions) {
    this.prefix = o.target.topicPrefix || 'vigil'
  }

  get connected(): boolean {
    return this.client?.connected === true
  }

  get error(): string | null {
    return this.lastError
  }

  start(): void {
    const t = this.o.target
    const opts: IClientOptions = {
      clientId: `vigil-${t.id.slice(0, 12)}-${process.pid}`,
      // reconnects are ours (exponential backoff), not the client's fixed period
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      clean: true,
      username: t.username ?? undefined,
      password: t.password || undefined,
      rejectUnauthorized: t.rejectUnauthorized,
      ca: t.caPem ? [t.caPem] : undefined,
      will: { topic: topics.available(this.prefix), payload: Buffer.from('offline'), retain: true, qos: 1 }
    }
    const c = mqtt.connect(t.url, opts)
    this.client = c
    c.on('connect', () => {
      this.failures = 0
      this.lastError = null
      this.o.logger.info({ target: t.id }, 'mqtt connected')
      void this.announce()
      this.o.onConnect()
    })
    c.on('error', (err) => {
      this.lastError = err.message
      this.o.logger.warn({ target: t.id, err: err.message }, 'mqtt error')
    })
    c.on('close', () => this.scheduleReconnect())
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return
    this.failures++
    const wait = backoffMs(this.failures, this.o.backoff ?? RECONNECT)
    this.timer = setTimeout(() => {
      this.timer = null
      if (!this.closed && this.client && !this.client.connected) this.client.reconnect()
    }, wait)
    this.timer.unref()
  }

  /** Availability, retained camera states and discovery: a broker restart may have lost them. */
  private async announce(): Promise<void> {
    try {
      await this.publish(topics.available(this.prefix), 'online', { retain: true })
      for (const cam of this.o.cameras()) {
        await this.cameraStatus(cam.id, cam.state)
        if (this.o.target.haDiscovery) {
          for (const m of discoveryMessages(this.prefix, cam)) await this.publish(m.topic, m.payload, { retain: true })
        }
      }
    } catch (err) {
      this.o.logger.warn({ target: this.o.target.id, err: (err as Error).message }, 'mqtt announce failed')
    }
  }

  cameraStatus(cameraId: string, state: CameraState): Promise<void> {
    return this.publish(topics.status(this.prefix, cameraId), cameraStatusPayload(state), { retain: true })
  }

  /** QoS 1; rejects when disconnected or unacknowledged within the timeout. */
  publish(topic: string, payload: string, opts: { retain?: boolean } = {}): Promise<void> {
    const c = this.client
    if (!c || !c.connected)
      return Promise.reject(new Error(`broker not connected${this.lastError ? ` (${this.lastError})` : ''}`))
    const ms = this.o.publishTimeoutMs ?? 10_000
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker did not acknowledge within ${ms} ms`)), ms)
      c.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => {
        clearTimeout(timer)
        if (err) reject(err)
        else resolve()
      })
    })
  }

  topicPrefix(): string {
    return this.prefix
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    const c = this.client
    this.client = null
    if (!c) return
    if (c.connected) {
      // a clean shutdown says so itself; the last will covers crashes
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000)
        c.publish(topics.available(this.prefix), 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    await c.endAsync(!c.connected).catch(() => undefined)
  }
}
