// Schema migrations for the SQL store: each box owns a numbered sequence (SqlMigration), the
// database records what it has applied in schema_migrations, and each step runs in its own
// transaction together with its bookkeeping row, so a crash mid-way leaves the previous version.
import type { Logger } from '../../log/logger'
import { silentLogger } from '../../log/logger'
import type { SqlDatabase, SqlEngine, SqlMigration } from './database'

export const MIGRATIONS_TABLE = 'schema_migrations'

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  box TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (box, version)
)`

/** The database was written by a newer Vigil: opening it could drop what that build relies on. */
export class NewerDatabaseError extends Error {
  constructor(
    readonly box: string,
    readonly found: number,
    readonly supported: number
  ) {
    super(
      `the database has schema version ${found} of "${box}", but this build of Vigil knows only up to ${supported}. ` +
        `It was written by a newer Vigil; refusing to open it so it is not damaged. Upgrade Vigil, or point it at another database.`
    )
    this.name = 'NewerDatabaseError'
  }
}

/**
 * Checks a migration list: versions of each box run 1, 2, … without gaps or repeats. Returns the
 * migrations grouped per box in version order. Pure, so mistakes surface in unit tests.
 */
export function planMigrations(migrations: readonly SqlMigration[]): Map<string, SqlMigration[]> {
  const byBox = new Map<string, SqlMigration[]>()
  for (const m of migrations) {
    if (!/^[a-z][a-z0-9_-]*$/.test(m.box))
      throw new Error(`migration box name "${m.box}" is not a plain lower-case word`)
    const list = byBox.get(m.box) ?? []
    list.push(m)
    byBox.set(m.box, list)
  }
  for (const [box, list] of byBox) {
    list.sort((a, b) => a.version - b.version)
    list.forEach((m, i) => {
      if (m.version !== i + 1) {
        throw new Error(
          `migrations of "${box}" must be numbered 1, 2, 3 … without gaps or repeats (found ${m.version} at position ${i + 1})`
        )
      }
    })
  }
  return byBox
}

/**
 * Splits a script into statements at semicolons outside quotes and comments, because one prepared
 * statement runs one statement (SQLite) and parameterless multi-statement strings behave
 * differently per driver. Not for CREATE TRIGGER bodies (their inner semicolons would split).
 */
export function splitStatements(script: string): string[] {
  const out: string[] = []
  let cur = ''
  let i = 0
  while (i < script.length) {
    const c = script[i]
    const next = script[i + 1]
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i)
      i = end === -1 ? script.length : end + 1
      cur += '\n'
      continue
    }
    if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2)
      i = end === -1 ? script.length : end + 2
      cur += ' '
      continue
    }
    if (c === "'" || c === '"') {
      let j = i + 1
      while (j < script.length) {
        if (script[j] === c) {
          if (script[j + 1] === c) j += 2
          else break
        } else j++
      }
      cur += script.slice(i, j + 1)
      i = j + 1
      continue
    }
    if (c === ';') {
      if (cur.trim()) out.push(cur.trim())
      cur = ''
      i++
      continue
    }
    cur += c
    i++
  }
  if (cur.trim()) out.push(cur.trim())
  return out
}

export function scriptFor(m: SqlMigration, engine: SqlEngine): string {
  return typeof m.sql === 'string' ? m.sql : m.sql[engine]
}

/**
 * SQLSTATEs PostgreSQL reports when two instances create the same table, index, type, column or
 * function at the same moment (the catalog's unique indexes fire before the DDL's own IF NOT
 * EXISTS check; an ALTER TABLE … ADD COLUMN waits for the winner and then finds the column).
 */
const CONCURRENT_CREATE = new Set(['23505', '42P07', '42710', '42P06', '42701', '42723'])

/**
 * Two instances started together on a fresh PostgreSQL both try to migrate. The loser's DDL waits
 * for the winner's transaction and then fails with "already exists"; run again, its step finds
 * the winner's bookkeeping row and skips. The failed attempt was rolled back, so repeating it is
 * safe. SQLite serialises writers itself and never gets here.
 */
async function againIfRacing<T>(db: SqlDatabase, step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step()
    } catch (e) {
      const code = (e as { code?: unknown }).code
      if (db.engine !== 'postgres' || attempt >= 5 || typeof code !== 'string' || !CONCURRENT_CREATE.has(code)) throw e
    }
  }
}

export interface MigrateResult {
  /** box → version before and after */
  boxes: Record<string, { from: number; to: number }>
  applied: { box: string; version: number; name: string }[]
}

/**
 * Brings every box in `migrations` up to its newest version. A box the database holds at a higher
 * version than the list knows throws NewerDatabaseError before anything is applied. Boxes the
 * database has but the list does not mention are left alone (another part of the app may own
 * them; openDatabase passes the whole app's list).
 */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly SqlMigration[],
  logger: Logger = silentLogger
): Promise<MigrateResult> {
  const plan = planMigrations(migrations)
  await againIfRacing(db, () => db.run(CREATE_TABLE))
  const rows = await db.all<{ box: string; v: number | string | null }>(
    `SELECT box, MAX(version) AS v FROM ${MIGRATIONS_TABLE} GROUP BY box`
  )
  const current = new Map(rows.map((r) => [r.box, Number(r.v ?? 0)]))
  for (const [box, list] of plan) {
    const found = current.get(box) ?? 0
    if (found > list.length) throw new NewerDatabaseError(box, found, list.length)
  }
  const result: MigrateResult = { boxes: {}, applied: [] }
  for (const [box, list] of plan) {
    const from = current.get(box) ?? 0
    for (const m of list.slice(from)) {
      const applied = await againIfRacing(db, () =>
        db.transaction(async (tx) => {
          // Another instance sharing the database may have applied it meanwhile (PostgreSQL).
          const done = await tx.get(`SELECT 1 AS x FROM ${MIGRATIONS_TABLE} WHERE box = ? AND version = ?`, [
            box,
            m.version
          ])
          if (done) return false
          for (const stmt of splitStatements(scriptFor(m, db.engine))) await tx.run(stmt)
          await tx.run(`INSERT INTO ${MIGRATIONS_TABLE} (box, version, name, applied_at) VALUES (?, ?, ?, ?)`, [
            box,
            m.version,
            m.name,
            Date.now()
          ])
          return true
        })
      )
      if (applied) {
        result.applied.push({ box, version: m.version, name: m.name })
        logger.info({ box, version: m.version, migration: m.name }, 'store: schema migration applied')
      }
    }
    result.boxes[box] = { from, to: list.length }
  }
  for (const [box, v] of current) {
    if (!plan.has(box)) logger.debug({ box, version: v }, 'store: schema box not managed by this migration list')
  }
  return result
}
