// The SQL seam of the store. Every repository (events, people and photos, review and audit,
// rejections, sightings, alerts' outbox …) is written against this interface once; one
// implementation per engine (SQLite embedded by default, PostgreSQL for several instances) sits
// beside it. Nothing above src/main/store knows which engine runs.
//
// Placeholders are `?` in both engines (the PostgreSQL implementation numbers them), so a query
// is written once. Where the two dialects differ (upserts, types in DDL) a repository branches on
// `engine`, never on anything else.

export type SqlEngine = 'sqlite' | 'postgres'

/** Embeddings and other binary data travel as Uint8Array (BLOB / bytea), never as text. */
export type SqlValue = string | number | bigint | boolean | Uint8Array | null

export type SqlParams = readonly SqlValue[]

export type SqlRow = Record<string, unknown>

export interface SqlExecutor {
  readonly engine: SqlEngine
  /** INSERT/UPDATE/DELETE/DDL; changes = rows affected */
  run(sql: string, params?: SqlParams): Promise<{ changes: number }>
  all<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]>
  get<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T | undefined>
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs fn in one transaction: committed when fn resolves, rolled back when it throws. Other
   * calls on this database wait until it ends, so fn sees and writes a consistent state.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>
  /**
   * Notifications between instances sharing one database (PostgreSQL LISTEN/NOTIFY). The
   * embedded engine delivers them in-process only, which is all a single instance needs.
   */
  notify(channel: string, payload: string): Promise<void>
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

/**
 * One numbered schema step of one box. Each box owns its tables and its own version sequence
 * (box 'events' version 1, 2, …), so boxes add migrations without renumbering each other's.
 * sql is one script, or one per engine where the dialects differ.
 */
export interface SqlMigration {
  box: string
  version: number
  name: string
  sql: string | Record<SqlEngine, string>
}
