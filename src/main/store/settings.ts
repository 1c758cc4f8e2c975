// settings.json: the settings and the camera configuration, the only things lowdb still holds.
// Small, human-readable, written rarely. Validated field by field on load: a bad value falls back
// to its default (a bad camera is set aside), the original file is kept beside it as
// settings.json.quarantine-<time>, and the problems are logged, so one damaged record never stops
// the app from starting.
import { requestSchemas } from '../../shared/schemas'
import type { CameraConfig, Settings } from '../../shared/types'
import { InvalidDbError, NewerSchemaError, readSchemaVersion } from './migrations'
import { DEFAULT_SETTINGS, type StoredCamera } from './schema'

export const SETTINGS_FILE = 'settings.json'
export const SETTINGS_SCHEMA_VERSION = 1

export interface SettingsDoc {
  schemaVersion: number
  settings: Settings
  /** credentials sealed at rest: see StoredCamera and store/secret-box.ts */
  cameras: StoredCamera[]
  /** this Vigil instance's name among several sharing one PostgreSQL (cameras carry it as `instance`) */
  instanceId?: string
  /** database URL (postgres://…); overridden by --db and VIGIL_DB; absent = SQLite vigil.db in the data dir */
  database?: string
}

/** How a codec turns file content into a document: what Store needs to know about a file. */
export interface DocumentCodec<T> {
  file: string
  empty(): T
  /** throws NewerSchemaError, InvalidDbError (moved aside) or SyntaxError; problems = quarantined parts */
  decode(doc: unknown, file: string): { data: T; fromVersion: number; problems: string[] }
}

export function emptySettingsDoc(): SettingsDoc {
  return { schemaVersion: SETTINGS_SCHEMA_VERSION, settings: structuredClone(DEFAULT_SETTINGS), cameras: [] }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const settingsSchema = requestSchemas['settings.update']
const cameraSchema = requestSchemas['cameras.create']

/** Each setting checked on its own: a bad one takes its default and is reported; the rest are kept. */
export function validateSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const problems: string[] = []
  const out: Settings = structuredClone(DEFAULT_SETTINGS)
  if (raw === undefined) return { settings: out, problems }
  if (!isRecord(raw)) return { settings: out, problems: ['settings is not an object; all defaults used'] }
  const merged: Record<string, unknown> = { ...raw }
  if (isRecord(raw.thresholds)) merged.thresholds = { ...DEFAULT_SETTINGS.thresholds, ...raw.thresholds }
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]) {
    if (merged[key] === undefined) continue
    const r = settingsSchema.safeParse({ [key]: merged[key] })
    if (r.success) Object.assign(out, r.data)
    else {
      problems.push(
        `settings.${key} = ${JSON.stringify(merged[key])} is invalid (${r.error.issues[0]?.message ?? 'bad value'}); using ${JSON.stringify(DEFAULT_SETTINGS[key])}`
      )
    }
  }
  return { settings: out, problems }
}

/** Cameras that fail the same checks as cameras.create (plus an id) are set aside and reported. */
export function validateCameras(raw: unknown): { cameras: CameraConfig[]; problems: string[] } {
  if (raw === undefined) return { cameras: [], problems: [] }
  if (!Array.isArray(raw)) return { cameras: [], problems: ['cameras is not a list; no cameras loaded'] }
  const cameras: CameraConfig[] = []
  const problems: string[] = []
  const ids = new Set<string>()
  raw.forEach((c: unknown, i) => {
    const id = isRecord(c) && typeof c.id === 'string' && c.id.length > 0 ? c.id : null
    const r = cameraSchema.safeParse(isRecord(c) ? { ...c, id: undefined, instance: undefined } : c)
    const full =
      r.success &&
      isRecord(c) &&
      ['enabled', 'detectFps', 'maxDetectWidth', 'minFaceSize', 'loop'].every(
        (k) => (c as Record<string, unknown>)[k] !== undefined
      )
    if (!id || !r.success || !full || ids.has(id)) {
      const why = !id
        ? 'no id'
        : ids.has(id)
          ? 'duplicate id'
          : !r.success
            ? (r.error.issues[0]?.message ?? 'invalid')
            : 'fields missing'
      problems.push(`camera #${i}${id ? ` (${id})` : ''} is invalid (${why}); it was set aside`)
      return
    }
    ids.add(id)
    const cam = { ...(c as unknown as CameraConfig), name: (c as unknown as CameraConfig).name.trim() }
    cameras.push(cam)
  })
  return { cameras, problems }
}

export const SETTINGS_CODEC: DocumentCodec<SettingsDoc> = {
  file: SETTINGS_FILE,
  empty: emptySettingsDoc,
  decode(doc, file) {
    const fromVersion = readSchemaVersion(doc)
    if (fromVersion > SETTINGS_SCHEMA_VERSION) throw new NewerSchemaError(fromVersion, SETTINGS_SCHEMA_VERSION, file)
    if (!isRecord(doc)) throw new InvalidDbError('top level is not a JSON object')
    const s = validateSettings(doc.settings)
    const c = validateCameras(doc.cameras)
    const data: SettingsDoc = {
      ...doc,
      schemaVersion: SETTINGS_SCHEMA_VERSION,
      settings: s.settings,
      cameras: c.cameras
    }
    for (const k of ['instanceId', 'database'] as const) {
      if (doc[k] !== undefined && typeof doc[k] !== 'string') {
        delete data[k]
        s.problems.push(`${k} is not a string; ignored`)
      }
    }
    return { data, fromVersion, problems: [...s.problems, ...c.problems] }
  }
}
