// The SQL half of the store: one database (SQLite file or PostgreSQL), its schema for every box,
// and one repository per box. Everything above src/main/store uses these repositories and never
// learns which engine runs.
import type { Logger } from '../log/logger'
import { silentLogger } from '../log/logger'
import { EVENT_MIGRATIONS, SqlEventRepo, type EventRepo } from './repos/events'
import { GALLERY_MIGRATIONS, SqlGalleryRepo, type GalleryRepo } from './repos/gallery'
import { REVIEW_MIGRATIONS, SqlReviewRepo, type ReviewRepo } from './repos/review'
import type { SqlDatabase, SqlMigration } from './sql/database'
import { openDatabase, type DatabaseSpec } from './sql/open'

/** Which 0.1 db.json files were imported (by content hash), so a crash before the rename is harmless. */
export const IMPORT_MIGRATIONS: SqlMigration[] = [
  {
    box: 'import',
    version: 1,
    name: 'record of imported 0.1 db.json files',
    sql: 'CREATE TABLE legacy_imports (sha256 TEXT PRIMARY KEY, imported_at BIGINT NOT NULL, counts TEXT NOT NULL)'
  }
]

/** Every box's schema steps. A new box (memory, alerts, …) adds its list here. */
export const APP_MIGRATIONS: readonly SqlMigration[] = [
  ...EVENT_MIGRATIONS,
  ...GALLERY_MIGRATIONS,
  ...REVIEW_MIGRATIONS,
  ...IMPORT_MIGRATIONS
]

/** Notification channels between instances sharing one database. */
export const CHANNELS = { gallery: 'vigil_gallery', review: 'vigil_review' } as const

export interface SqlStore {
  readonly db: SqlDatabase
  readonly events: EventRepo
  readonly gallery: GalleryRepo
  readonly review: ReviewRepo
  close(): Promise<void>
}

export function reposOf(db: SqlDatabase): SqlStore {
  return {
    db,
    events: new SqlEventRepo(db),
    gallery: new SqlGalleryRepo(db),
    review: new SqlReviewRepo(db),
    close: () => db.close()
  }
}

/**
 * Opens the database of `spec`, brings its schema up to this build's, and returns the repositories.
 * `extraMigrations`: boxes above the store (alerts) that keep their tables in the same database.
 */
export async function openSqlStore(
  spec: Omit<DatabaseSpec, 'migrations'> & { logger?: Logger; extraMigrations?: readonly SqlMigration[] }
): Promise<SqlStore> {
  const { extraMigrations = [], ...rest } = spec
  const db = await openDatabase({
    ...rest,
    logger: spec.logger ?? silentLogger,
    migrations: [...APP_MIGRATIONS, ...extraMigrations]
  })
  return reposOf(db)
}
