// Schema versioning of db.json. Pure functions (no fs) so they are testable without files.
import { DEFAULT_SETTINGS, emptyDb, type DbSchema } from './schema'

export const CURRENT_SCHEMA_VERSION: DbSchema['schemaVersion'] = 1

/** Upgrades a document of version N (the key) to N+1. Must not mutate its input. */
export type Migration = (doc: Record<string, unknown>) => Record<string, unknown>

/**
 * Registered upgrades. Empty while version 1 is the only one; when the schema changes, bump
 * DbSchema.schemaVersion, CURRENT_SCHEMA_VERSION and add `1: (d) => ({ ...d, schemaVersion: 2, … })`.
 */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {}

/** Thrown for a db written by a newer build: opening it could silently drop fields it relies on. */
export class NewerSchemaError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
    file: string
  ) {
    super(
      `${file} has schemaVersion ${found}, but this build of Vigil understands only up to ${supported}. ` +
        `Refusing to open it so it is not damaged: upgrade Vigil, or point it at another data directory.`
    )
    this.name = 'NewerSchemaError'
  }
}

/** Thrown for content that is valid JSON but not a Vigil db; the caller moves such a file aside. */
export class InvalidDbError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidDbError'
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function readSchemaVersion(doc: unknown): number {
  if (!isRecord(doc)) throw new InvalidDbError('top level is not a JSON object')
  const v = doc.schemaVersion
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InvalidDbError(`schemaVersion is missing or not a positive integer (${JSON.stringify(v)})`)
  }
  return v
}

/**
 * Brings a parsed document up to `target` through `migrations`, then checks the shape and fills
 * collections that older files lack. Returns the document and the version it was read as.
 */
export function upgrade(
  doc: unknown,
  file = 'db.json',
  migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
  target: number = CURRENT_SCHEMA_VERSION
): { data: DbSchema; fromVersion: number } {
  const fromVersion = readSchemaVersion(doc)
  if (fromVersion > target) throw new NewerSchemaError(fromVersion, target, file)
  let cur = doc as Record<string, unknown>
  for (let v = fromVersion; v < target; v++) {
    const m = migrations[v]
    if (!m) throw new Error(`no migration registered from schemaVersion ${v} to ${v + 1}`)
    cur = m(cur)
    if (readSchemaVersion(cur) !== v + 1) throw new Error(`migration from ${v} did not produce schemaVersion ${v + 1}`)
  }
  return { data: normalize(cur), fromVersion }
}

const COLLECTIONS = ['people', 'cameras', 'events', 'review', 'rejections'] as const

/** Shallow shape check: deep per-record validation of 10 000 events would cost every start. */
export function normalize(doc: Record<string, unknown>): DbSchema {
  const base = emptyDb()
  for (const k of COLLECTIONS) {
    const v = doc[k]
    if (v !== undefined && !Array.isArray(v)) throw new InvalidDbError(`"${k}" is not an array`)
  }
  if (doc.settings !== undefined && !isRecord(doc.settings)) throw new InvalidDbError('"settings" is not an object')
  const settings = isRecord(doc.settings) ? doc.settings : {}
  const thresholds = isRecord(settings.thresholds) ? settings.thresholds : {}
  // Spread keeps fields this build does not know about, so an older minor build writes them back intact.
  return {
    ...doc,
    ...base,
    people: (doc.people as DbSchema['people'] | undefined) ?? base.people,
    cameras: (doc.cameras as DbSchema['cameras'] | undefined) ?? base.cameras,
    events: (doc.events as DbSchema['events'] | undefined) ?? base.events,
    review: (doc.review as DbSchema['review'] | undefined) ?? base.review,
    rejections: (doc.rejections as DbSchema['rejections'] | undefined) ?? base.rejections,
    settings: {
      ...DEFAULT_SETTINGS,
      ...(settings as Partial<DbSchema['settings']>),
      thresholds: { ...DEFAULT_SETTINGS.thresholds, ...(thresholds as Partial<DbSchema['settings']['thresholds']>) }
    },
    // upgrade() has already brought it to the target version
    schemaVersion: doc.schemaVersion as DbSchema['schemaVersion']
  }
}
