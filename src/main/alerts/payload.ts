// What leaves the engine: the webhook/MQTT JSON payload, its HMAC signature and the MQTT topics.
// The shapes are documented in the README (section "Alerts"); change both together.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AlertRecord, CameraState, DeliveryMessage } from '../../shared/types'

export const PAYLOAD_VERSION = 1
export const SIGNATURE_HEADER = 'x-vigil-signature'
export const TIMESTAMP_HEADER = 'x-vigil-timestamp'
export const IDEMPOTENCY_HEADER = 'idempotency-key'

export interface MediaRef {
  key: string
  /** absolute URL when the engine was given a public media base URL, else null */
  url: string | null
}

export interface AlertPayload {
  version: number
  /** 'new' for a raised alert, 'update' (MQTT, best effort) when its track scores better, 'end' when the track left the view, 'test' from the console */
  type: DeliveryMessage | 'update'
  /** idempotency key: the same for every retry of this delivery */
  deliveryId: string
  alert: {
    id: string
    kind: AlertRecord['kind']
    rule: { id: string | null; name: string }
    /** ISO 8601 UTC and epoch ms of the alert */
    at: string
    atMs: number
    camera: { id: string; name: string | null } | null
    person: { id: string; name: string | null } | null
    band: AlertRecord['band']
    /** cosine similarity 0..1 of the best candidate when the alert was raised */
    score: number | null
    eventId: string | null
    trackId: string | null
    crop: MediaRef | null
    snapshot: MediaRef | null
    message: string
  }
}

const mediaRef = (key: string | null, base: string | null): MediaRef | null =>
  key === null
    ? null
    : { key, url: base ? `${base.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}` : null }

export function buildPayload(
  a: AlertRecord,
  type: DeliveryMessage | 'update',
  deliveryId: string,
  mediaBaseUrl: string | null = null
): AlertPayload {
  return {
    version: PAYLOAD_VERSION,
    type,
    deliveryId,
    alert: {
      id: a.id,
      kind: a.kind,
      rule: { id: a.ruleId, name: a.ruleName },
      at: new Date(a.at).toISOString(),
      atMs: a.at,
      camera: a.cameraId === null ? null : { id: a.cameraId, name: a.cameraName },
      person: a.personId === null ? null : { id: a.personId, name: a.personName },
      band: a.band,
      score: a.score,
      eventId: a.eventId,
      trackId: a.trackId,
      crop: mediaRef(a.crop, mediaBaseUrl),
      snapshot: mediaRef(a.snapshot, mediaBaseUrl),
      message: a.message
    }
  }
}

/**
 * Signature of one webhook request: HMAC-SHA256 over "<timestamp>.<raw body>" with the target's
 * secret, hex. The timestamp is signed too so a captured request cannot be replayed later with a
 * fresh timestamp header.
 */
export function sign(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** The receiver's check (also what the README shows); constant-time comparison. */
export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  const want = Buffer.from(sign(secret, timestamp, body))
  const got = Buffer.from(header)
  return want.length === got.length && timingSafeEqual(want, got)
}

// ---- MQTT topics (Frigate-like) ----

/** Topic segments may not carry MQTT wildcards or separators. */
export const topicSegment = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_') || '_'

export const topics = {
  events: (prefix: string): string => `${prefix}/events`,
  available: (prefix: string): string => `${prefix}/available`,
  person: (prefix: string, cameraId: string): string => `${prefix}/${topicSegment(cameraId)}/person`,
  status: (prefix: string, cameraId: string): string => `${prefix}/${topicSegment(cameraId)}/status`
}

/** Retained camera status: 'online' only while frames arrive; everything else is 'offline'. */
export const cameraStatusPayload = (state: CameraState): 'online' | 'offline' =>
  state === 'online' ? 'online' : 'offline'

export interface DiscoveryMessage {
  topic: string
  payload: string
}

/**
 * Home Assistant MQTT discovery: per camera a "last person seen" sensor (from the retained
 * <prefix>/<camera>/person message) and an "online" binary sensor (from <prefix>/<camera>/status),
 * both unavailable when the engine's last will marks <prefix>/available offline.
 */
export function discoveryMessages(prefix: string, camera: { id: string; name: string }): DiscoveryMessage[] {
  const seg = topicSegment(camera.id)
  const uid = `vigil_${topicSegment(prefix)}_${seg}`
  const device = { identifiers: [uid], name: `Vigil ${camera.name}`, manufacturer: 'Vigil', model: 'camera' }
  const availability = [
    { topic: topics.available(prefix), payload_available: 'online', payload_not_available: 'offline' }
  ]
  return [
    {
      topic: `homeassistant/sensor/${uid}_last_person/config`,
      payload: JSON.stringify({
        name: 'Last person seen',
        unique_id: `${uid}_last_person`,
        state_topic: topics.person(prefix, camera.id),
        value_template: "{{ value_json.alert.person.name if value_json.alert.person else 'unknown' }}",
        json_attributes_topic: topics.person(prefix, camera.id),
        json_attributes_template: '{{ value_json.alert | tojson }}',
        icon: 'mdi:account-eye',
        availability,
        device
      })
    },
    {
      topic: `homeassistant/binary_sensor/${uid}_online/config`,
      payload: JSON.stringify({
        name: 'Online',
        unique_id: `${uid}_online`,
        state_topic: topics.status(prefix, camera.id),
        payload_on: 'online',
        payload_off: 'offline',
        device_class: 'connectivity',
        availability,
        device
      })
    }
  ]
}
