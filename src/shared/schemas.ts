// Runtime validation of every request before it reaches the engine. Typed against ApiSpec so the
// schemas cannot drift from the contract.
import { z } from 'zod'
import type { Channel, Req } from './api'

const id = z.string().min(1).max(200)
const name = z.string().trim().min(1).max(200)
const threshold = z.number().min(0).max(1)
const epochMs = z.number().int().nonnegative()
const band = z.enum(['match', 'review', 'unknown'])
const decision = z.enum(['auto', 'pending', 'confirmed', 'rejected', 'reassigned'])
const provider = z.enum(['cuda', 'dml', 'coreml', 'cpu'])
/** 40 MB of base64 ≈ 30 MB of image: larger uploads are refused before decoding. */
const MAX_BASE64 = 40 * 1024 * 1024

const personInput = z.object({
  name,
  notes: z.string().max(5000).optional(),
  threshold: threshold.nullable().optional()
})

const cameraUrl = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .refine((u) => ![...u].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f), {
    message: 'camera URL contains control characters'
  })
  .refine(
    (u) =>
      /^(rtsp|rtsps|http|https|file):\/\//i.test(u) ||
      /^(v4l2|dshow|avfoundation):/i.test(u) ||
      u.startsWith('/') ||
      /^[a-z]:[\\/]/i.test(u),
    {
      message:
        'camera URL must be rtsp://, http(s)://, a v4l2:/dshow:/avfoundation: device, or a file below a folder listed in Settings'
    }
  )

const cameraFields = {
  name,
  url: cameraUrl,
  enabled: z.boolean(),
  detectFps: z.number().min(0.2).max(30),
  maxDetectWidth: z.number().int().min(160).max(3840),
  minFaceSize: z.number().int().min(8).max(1000),
  loop: z.boolean(),
  important: z.boolean(),
  hwaccel: z.enum(['off', 'auto', 'vaapi', 'qsv', 'cuda', 'videotoolbox', 'd3d11va']),
  keyframesOnly: z.boolean(),
  detectTiles: z.number().int().min(1).max(4)
}

const eventQuery = z.object({
  personId: id.optional(),
  includeUnconfirmed: z.boolean().optional(),
  cameraId: id.optional(),
  from: epochMs.optional(),
  to: epochMs.optional(),
  band: band.optional(),
  decision: decision.optional(),
  offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(1000).optional()
})

const noArgs = z
  .undefined()
  .or(z.null())
  .or(z.object({}).strict())
  .transform(() => undefined)

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'time must be HH:MM (00:00–23:59)' })
const ids = z.array(id).max(1000)

const alertRuleInput = z
  .object({
    id: id.optional(),
    name,
    enabled: z.boolean(),
    trigger: z.enum(['face', 'camera']),
    who: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('people'), personIds: ids }),
      z.object({ kind: z.literal('anyKnown') }),
      z.object({ kind: z.literal('unknown') }),
      z.object({ kind: z.literal('strangerGroup'), groupIds: ids })
    ]),
    bands: z.array(z.enum(['match', 'review'])).max(2),
    cameraIds: ids,
    schedule: z
      .object({ days: z.array(z.number().int().min(0).max(6)).min(1).max(7), from: hhmm, to: hhmm })
      .refine((s) => s.from !== s.to, { message: 'schedule: from and to must differ' })
      .nullable(),
    cooldownSec: z.number().int().min(0).max(86_400),
    offlineAfterSec: z.number().int().min(0).max(86_400),
    onOnline: z.boolean(),
    onOverload: z.boolean(),
    actions: z.object({ console: z.boolean(), desktop: z.boolean(), sound: z.boolean(), targetIds: ids })
  })
  .refine((r) => r.trigger !== 'face' || r.who.kind === 'unknown' || r.bands.length > 0, {
    message: 'a face rule needs at least one band (match or review)',
    path: ['bands']
  })
  .refine((r) => r.who.kind !== 'people' || r.who.personIds.length > 0, {
    message: 'pick at least one person for the watch list',
    path: ['who']
  })

const targetUrl = z.string().trim().min(1).max(2000)
const alertTargetInput = z
  .object({
    id: id.optional(),
    name,
    kind: z.enum(['webhook', 'mqtt']),
    enabled: z.boolean(),
    url: targetUrl,
    secret: z.string().max(500).optional(),
    timeoutMs: z.number().int().min(100).max(120_000).optional(),
    username: z.string().max(500).nullable().optional(),
    password: z.string().max(500).optional(),
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, { message: 'topic prefix: letters, digits, _ - and / only' })
      .max(100)
      .optional(),
    haDiscovery: z.boolean().optional(),
    caPem: z.string().max(100_000).optional(),
    rejectUnauthorized: z.boolean().optional()
  })
  .refine((t) => (t.kind === 'webhook' ? /^https?:\/\//i.test(t.url) : /^(mqtts?|wss?):\/\//i.test(t.url)), {
    message: 'webhook URL must be http(s)://; MQTT broker URL must be mqtt://, mqtts://, ws:// or wss://',
    path: ['url']
  })

type Schemas = { [C in Channel]: z.ZodType<Req<C>, unknown> }

export const requestSchemas: Schemas = {
  'system.info': noArgs,
  'people.list': noArgs,
  'people.create': personInput,
  'people.update': personInput.partial().extend({ id }),
  'people.delete': z.object({ id }),
  'people.addPhoto': z.object({
    personId: id,
    fileName: z.string().max(500),
    dataBase64: z.string().min(1).max(MAX_BASE64, { message: 'image is larger than 30 MB' }),
    faceIndex: z.number().int().min(0).max(100).optional()
  }),
  'people.removePhoto': z.object({ personId: id, photoId: id }),
  'cameras.list': noArgs,
  'cameras.create': z.object({
    name,
    url: cameraUrl,
    enabled: cameraFields.enabled.optional(),
    detectFps: cameraFields.detectFps.optional(),
    maxDetectWidth: cameraFields.maxDetectWidth.optional(),
    minFaceSize: cameraFields.minFaceSize.optional(),
    loop: cameraFields.loop.optional(),
    important: cameraFields.important.optional(),
    hwaccel: cameraFields.hwaccel.optional(),
    keyframesOnly: cameraFields.keyframesOnly.optional(),
    detectTiles: cameraFields.detectTiles.optional(),
    // null (or "") removes the detect stream
    detectUrl: z.union([cameraUrl, z.literal(''), z.null()]).optional(),
    instance: id.optional()
  }),
  'cameras.update': z.object({
    id,
    name: name.optional(),
    url: cameraUrl.optional(),
    enabled: cameraFields.enabled.optional(),
    detectFps: cameraFields.detectFps.optional(),
    maxDetectWidth: cameraFields.maxDetectWidth.optional(),
    minFaceSize: cameraFields.minFaceSize.optional(),
    loop: cameraFields.loop.optional(),
    important: cameraFields.important.optional(),
    hwaccel: cameraFields.hwaccel.optional(),
    keyframesOnly: cameraFields.keyframesOnly.optional(),
    detectTiles: cameraFields.detectTiles.optional(),
    // null (or "") removes the detect stream
    detectUrl: z.union([cameraUrl, z.literal(''), z.null()]).optional(),
    instance: id.optional()
  }),
  'cameras.delete': z.object({ id }),
  'cameras.test': z.object({ url: cameraUrl }),
  'cameras.focus': z.object({ id }),
  'review.list': z.object({
    status: z.enum(['pending', 'confirmed', 'rejected', 'reassigned']).optional(),
    byGroup: z.boolean().optional()
  }),
  'review.rejectMany': z.object({ itemIds: z.array(id).max(10_000), operator: name }),
  'memory.groups': z.object({
    sort: z.enum(['lastSeen', 'visits']).optional(),
    includeIgnored: z.boolean().optional()
  }),
  'memory.sightings': z.object({ groupId: id, limit: z.number().int().min(1).max(1000).optional() }),
  'memory.groupAction': z.object({
    groupId: id,
    action: z.enum(['newPerson', 'addToPerson', 'merge', 'ignore', 'unignore', 'delete']),
    operator: name,
    name: name.optional(),
    personId: id.optional(),
    otherGroupId: id.optional()
  }),
  'review.decide': z.object({
    itemId: id,
    version: z.number().int().min(0),
    action: z.enum(['confirm', 'reject', 'reassign', 'newPerson']),
    operator: name,
    personId: id.optional(),
    newPersonName: name.optional(),
    addToGallery: z.boolean().optional()
  }),
  'review.undo': z.object({ itemId: id, operator: name }),
  'events.query': eventQuery,
  'events.stats': z.object({
    from: epochMs.optional(),
    to: epochMs.optional(),
    cameraId: id.optional(),
    personId: id.optional()
  }),
  'events.exportCsv': eventQuery,
  'settings.get': noArgs,
  'settings.update': z
    .object({
      thresholds: z.object({ accept: threshold, review: threshold }).refine((t) => t.review <= t.accept, {
        message: 'review threshold must not exceed the accept threshold'
      }),
      retentionDays: z.number().int().min(1).max(3650),
      executionProvider: provider,
      workers: z.number().int().min(1).max(32),
      minEnrolQuality: z.number().min(0).max(1),
      localVideoFolders: z
        .array(
          z
            .string()
            .trim()
            .min(1)
            .max(1000)
            .refine((f) => f.startsWith('/') || /^[a-z]:[\\/]/i.test(f), { message: 'folders must be absolute paths' })
            .refine((f) => f.replace(/[\\/]+$/, '') !== '' && !/^[a-z]:[\\/]*$/i.test(f), {
              message: 'the file-system root cannot be a video folder'
            })
        )
        .max(50),
      maxCameras: z.number().int().min(1).max(256)
    })
    .partial(),
  'media.get': z.object({
    key: z
      .string()
      .min(1)
      .max(500)
      .refine((k) => !k.includes('..') && !k.startsWith('/') && !k.includes('\\'), { message: 'invalid media key' })
  }),
  'alertRules.list': noArgs,
  'alertRules.save': alertRuleInput,
  'alertRules.delete': z.object({ id }),
  'alertTargets.list': noArgs,
  'alertTargets.save': alertTargetInput,
  'alertTargets.delete': z.object({ id }),
  'alertTargets.test': z.object({ id }),
  'alerts.list': z.object({
    limit: z.number().int().min(1).max(1000).optional(),
    unacknowledgedOnly: z.boolean().optional()
  }),
  'alerts.acknowledge': z.object({ id, operator: name }),
  'alerts.deliveries': z.object({ alertId: id.optional(), limit: z.number().int().min(1).max(1000).optional() })
}

export interface ValidationFailure {
  message: string
  issues: { path: string; message: string }[]
}

/** Parses a request for a channel; unknown channels and bad payloads come back as a failure, never a throw. */
export function validateRequest(
  channel: unknown,
  payload: unknown
): { ok: true; channel: Channel; value: unknown } | { ok: false; failure: ValidationFailure } {
  if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(requestSchemas, channel)) {
    return { ok: false, failure: { message: `unknown operation ${JSON.stringify(channel)}`, issues: [] } }
  }
  const c = channel as Channel
  const parsed = requestSchemas[c].safeParse(payload)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
    return {
      ok: false,
      failure: {
        message: `invalid request for ${c}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
        issues
      }
    }
  }
  return { ok: true, channel: c, value: parsed.data }
}
