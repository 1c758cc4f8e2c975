// Chooses the engine from one setting (`--db`, VIGIL_DB or Settings): a postgres:// URL selects
// PostgreSQL, anything else (empty, or a file path) the embedded SQLite file in the data dir.
// The PostgreSQL module is imported only when asked for, so pg and its setup cost nothing in the
// default single-machine case.
import { isAbsolute, join } from 'node:path'
import type { Logger } from '../../log/logger'
import { silentLogger } from '../../log/logger'
import type { SqlDatabase, SqlMigration } from './database'
import { migrate } from './migrate'
// type only: erased at build time, so pg is still loaded only for a postgres:// URL
import type { PostgresOptions } from './postgres'
import { SqliteDatabase, type SqliteOptions } from './sqlite'

export const SQLITE_FILE = 'vigil.db'

export interface DatabaseSpec {
  /** postgres://… or postgresql://…; empty/undefined = SQLite `vigil.db` in dataDir; a path = that SQLite file */
  url?: string | null
  dataDir: string
  logger?: Logger
  /** applied (and checked against a newer database) before the database is returned */
  migrations?: readonly SqlMigration[]
  sqlite?: SqliteOptions
  /** PostgreSQL tuning, and onListenReconnect: reload shared state after notifications may have been missed */
  postgres?: Omit<PostgresOptions, 'logger'>
}

/** What `./postgres` provides; that module is written against the same seam. */
export interface PostgresModule {
  openPostgres(url: string, opts: PostgresOptions): Promise<SqlDatabase>
}

export function isPostgresUrl(url: string | null | undefined): url is string {
  return typeof url === 'string' && /^postgres(ql)?:\/\//i.test(url.trim())
}

/** The URL with its password replaced, for logs and error messages. */
export function redactDbUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

/** Where the SQLite file lives for a spec (for the README, logs and the import). */
export function sqlitePath(spec: Pick<DatabaseSpec, 'url' | 'dataDir'>): string {
  const u = spec.url?.trim()
  if (!u) return join(spec.dataDir, SQLITE_FILE)
  const path = u.startsWith('file:') ? u.slice('file:'.length) : u
  return isAbsolute(path) ? path : join(spec.dataDir, path)
}

export async function openDatabase(spec: DatabaseSpec): Promise<SqlDatabase> {
  const logger = spec.logger ?? silentLogger
  let db: SqlDatabase
  if (isPostgresUrl(spec.url)) {
    const mod: PostgresModule = await import('./postgres')
    try {
      db = await mod.openPostgres(spec.url.trim(), { ...spec.postgres, logger })
    } catch (e) {
      throw new Error(
        `cannot open PostgreSQL database ${redactDbUrl(spec.url)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      )
    }
  } else {
    db = await SqliteDatabase.open(sqlitePath(spec), { logger, ...spec.sqlite })
  }
  try {
    if (spec.migrations) await migrate(db, spec.migrations, logger)
  } catch (e) {
    await db.close()
    throw e
  }
  return db
}
