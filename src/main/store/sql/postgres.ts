// PostgreSQL engine of the SQL seam (see database.ts), for several Vigil instances sharing one
// gallery, review queue and history. Loaded lazily by openDatabase for postgres:// URLs, so an
// embedded install never loads pg.
//
// Differences from the embedded engine that repositories may meet, and how they are smoothed:
// - Placeholders: queries are written with `?`; numberPlaceholders turns them into $1, $2 … and
//   leaves `?` inside strings, quoted identifiers and comments alone. The jsonb operators ?, ?|
//   and ?& therefore cannot be written; use jsonb_exists() / jsonb_exists_any() instead.
// - Numbers: int8 (bigint columns, COUNT(*), SUM of integers) and numeric arrive from the server
//   as text because they can exceed a double. The seam promises numbers where SQLite gives them,
//   so int8 becomes a number when it is a safe integer and a bigint beyond that (a millisecond
//   timestamp or a row count never gets there); numeric (AVG, SUM of bigints) becomes a number,
//   as SQLite's REAL would be.
// - Booleans are sent as 1/0, as SQLite stores them, so the same query works against an integer
//   column (SQLite-style DDL) and a boolean column (PostgreSQL accepts '1'/'0' for boolean).
//   Booleans read from a boolean column come back as true/false; repositories that want
//   identical rows from both engines declare such columns as integer.
// - bytea arrives as a Uint8Array of its own (offset 0), like SQLite BLOBs.
// - transaction() runs SERIALIZABLE on one dedicated connection and is retried when the server
//   reports a serialization failure or deadlock. SQLite transactions are serial, so repository
//   code that reads, checks and then writes inside a transaction is correct on both engines
//   without SELECT … FOR UPDATE; two instances racing on the same row see one of them retried,
//   and the retry sees the winner's write (e.g. "already decided"). fn must therefore do only
//   database work (it may run more than once).
// - Unlike the single SQLite connection, calls outside a transaction are not held while one
//   runs: they use other pooled connections and see only committed data. Another instance writes
//   concurrently anyway, so nothing could rely on the hold.
import { AsyncLocalStorage } from 'node:async_hooks'
import pg from 'pg'
import type { Logger } from '../../log/logger'
import { silentLogger } from '../../log/logger'
import type { SqlDatabase, SqlExecutor, SqlParams, SqlRow, SqlValue } from './database'
import { numberPlaceholders } from './placeholders'

export interface PostgresOptions {
  logger?: Logger
  /** pooled connections for queries and transactions (the listener has its own); default 10 */
  poolSize?: number
  /** attempts of one transaction on serialization failures / deadlocks; default 8 */
  maxTransactionAttempts?: number
  /**
   * Called after the LISTEN connection was lost and is back. Notifications sent while it was
   * down are lost (PostgreSQL does not queue them for a closed session), so a listener that keeps
   * a copy of shared state (the matcher) should reload it here.
   */
  onListenReconnect?: () => void
  /** first delay before reconnecting the listener; doubled up to 5 s. Default 250 ms */
  reconnectDelayMs?: number
  /**
   * How often the LISTEN connection is checked with a query, and how long the answer may take.
   * A connection whose peer vanished without a reset (a cable pulled, a VM paused) otherwise looks
   * healthy for many minutes while no notification arrives. Defaults 15 000 / 5 000 ms.
   */
  listenHeartbeatMs?: number
  listenHeartbeatTimeoutMs?: number
  /** how long opening a connection may take before it fails; default 10 000 ms */
  connectTimeoutMs?: number
}

/** SQLSTATEs after which running the whole transaction again can succeed. */
const RETRYABLE = new Set(['40001', '40P01'])

/** PostgreSQL limits a NOTIFY payload to just under 8000 bytes. */
const MAX_NOTIFY_BYTES = 7999

// ---------------------------------------------------------------------------------------------
// values

/** Parameter as pg should send it (see the header for why booleans become 1/0). */
export function toPgParam(v: SqlValue): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'bigint') return v.toString()
  return v
}

/** int8 text → number when exact, bigint otherwise. */
export function parseInt8(text: string): number | bigint {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : BigInt(text)
}

/**
 * bytea (hex output, the server default) → a Uint8Array that owns its buffer at offset 0, so a
 * repository can view an embedding as a Float32Array without copying or alignment errors. pg's
 * own parser returns Buffers that may sit at any offset of a shared pool slab.
 */
export function parseBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) return new Uint8Array(pgByteaParser(text))
  const bytes = new Uint8Array((text.length - 2) >>> 1)
  Buffer.from(bytes.buffer).write(text.slice(2), 'hex')
  return bytes
}

const INT8_OID = 20
const NUMERIC_OID = 1700
const BYTEA_OID = 17
const pgByteaParser = pg.types.getTypeParser(BYTEA_OID, 'text') as (text: string) => Buffer

/** Type parsers of this pool only, so another pg user in the process keeps pg's defaults. */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      if (oid === INT8_OID) return parseInt8
      if (oid === NUMERIC_OID) return Number
      if (oid === BYTEA_OID) return parseBytea
    }
    return pg.types.getTypeParser(oid, format) as (text: string) => unknown
  }) as pg.CustomTypesConfig['getTypeParser']
}

// ---------------------------------------------------------------------------------------------
// engine

interface Queryable {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>
}

function prepare(sql: string, params: SqlParams | undefined): pg.QueryConfig {
  const { text, count } = numberPlaceholders(sql)
  const given = params?.length ?? 0
  if (count !== given) {
    throw new Error(`query has ${count} ? placeholder(s) but ${given} parameter(s) were given: ${clip(sql)}`)
  }
  // Without parameters pg uses the simple protocol, which also runs multi-statement scripts
  // (migrations); with parameters it must be the extended protocol (one statement).
  return given === 0 ? { text } : { text, values: params!.map(toPgParam) }
}

function clip(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim()
  return one.length > 200 ? `${one.slice(0, 200)}…` : one
}

/** Adds the statement to a server error so a failing query in a log says which one. */
function withQuery(e: unknown, sql: string): unknown {
  if (e instanceof Error && !e.message.includes(' — in: ')) e.message = `${e.message} — in: ${clip(sql)}`
  return e
}

class PgExecutor implements SqlExecutor {
  readonly engine = 'postgres' as const
  constructor(protected readonly target: () => Queryable) {}

  async run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    const r = await this.exec(sql, params)
    return { changes: r.rowCount ?? 0 }
  }

  async all<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
    const r = await this.exec(sql, params)
    return resultRows(r) as T[]
  }

  async get<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params)
    return rows[0]
  }

  private async exec(sql: string, params: SqlParams | undefined): Promise<pg.QueryResult> {
    const config = prepare(sql, params)
    try {
      return await this.target().query(config)
    } catch (e) {
      throw withQuery(e, sql)
    }
  }
}

/** A multi-statement script yields one result per statement; the last one is the answer. */
function resultRows(r: pg.QueryResult | pg.QueryResult[]): SqlRow[] {
  const last = Array.isArray(r) ? r[r.length - 1] : r
  return (last?.rows ?? []) as SqlRow[]
}

class PostgresDatabase extends PgExecutor implements SqlDatabase {
  private closed = false
  private listener: pg.Client | null = null
  private listenerReady: Promise<pg.Client> | null = null
  private reconnectTimer: NodeJS.Timeout | null = null
  private heartbeat: NodeJS.Timeout | null = null
  private readonly channels = new Map<string, Set<(payload: string) => void>>()
  private readonly log: Logger
  private readonly maxAttempts: number

  constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.ClientConfig,
    private readonly opts: PostgresOptions
  ) {
    super(() => this.live())
    this.log = (opts.logger ?? silentLogger).child({ box: 'store', engine: 'postgres' })
    this.maxAttempts = Math.max(1, opts.maxTransactionAttempts ?? 8)
    // An idle pooled connection dropped by the server emits 'error' on the pool; unhandled it
    // would end the process. The pool replaces the connection on the next checkout.
    pool.on('error', (e) => this.log.warn({ err: e.message }, 'postgres: idle connection lost'))
  }

  /** marks the async context of a running transaction (see live()) */
  private readonly inTx = new AsyncLocalStorage<{ active: boolean }>()

  private live(): pg.Pool {
    if (this.closed) throw new Error('database is closed')
    // Same rule as the embedded engine: a direct call inside fn would not see fn's writes and can
    // wait forever on a row fn has locked. Failing here keeps repositories portable.
    if (this.inTx.getStore()?.active) {
      throw new Error('database used directly inside its own transaction: use the tx passed to the callback')
    }
    return this.pool
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.inTx.getStore()?.active) {
      throw new Error('transaction() called inside a transaction: use the tx passed to the callback')
    }
    for (let attempt = 1; ; attempt++) {
      const client = await this.live().connect()
      // an object, not a flag: timers started inside fn inherit the context and outlive it
      const ctx = { active: true }
      const tx = new PgExecutor(() => {
        if (!ctx.active) throw new Error('transaction already ended: a tx call escaped its callback')
        return client
      })
      let broken: Error | undefined
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
        const result = await this.inTx.run(ctx, () => fn(tx))
        ctx.active = false
        await client.query('COMMIT')
        return result
      } catch (e) {
        ctx.active = false
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          // the connection itself is gone: the server rolls back; never reuse this client
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        }
        const code = (e as { code?: unknown }).code
        if (typeof code === 'string' && RETRYABLE.has(code) && attempt < this.maxAttempts && !this.closed) {
          this.log.debug({ code, attempt }, 'postgres: transaction conflict, retrying')
          await sleep(retryDelayMs(attempt))
          continue
        }
        throw e
      } finally {
        ctx.active = false
        client.release(broken)
      }
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    if (payload.includes('\u0000')) {
      // PostgreSQL text cannot hold NUL; the server's answer ("invalid byte sequence") hides why
      throw new Error(`notify payload on "${channel}" contains a NUL character, which PostgreSQL text cannot hold`)
    }
    if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES) {
      throw new Error(
        `notify payload on "${channel}" is ${Buffer.byteLength(payload)} bytes; PostgreSQL takes at most ${MAX_NOTIFY_BYTES}: send an id and let listeners read the rest`
      )
    }
    await this.run('SELECT pg_notify(?, ?)', [channel, payload])
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    this.live()
    let set = this.channels.get(channel)
    const first = !set
    if (!set) {
      set = new Set()
      this.channels.set(channel, set)
    }
    set.add(onPayload)
    if (first) {
      try {
        const client = await this.listenClient()
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      } catch (e) {
        // a lost connection re-LISTENs every channel on reconnect; anything else is the caller's
        if (!this.reconnectTimer) {
          set.delete(onPayload)
          if (set.size === 0) this.channels.delete(channel)
          throw e
        }
      }
    }
    let done = false
    return async () => {
      if (done) return
      done = true
      const s = this.channels.get(channel)
      if (!s) return
      s.delete(onPayload)
      if (s.size > 0) return
      this.channels.delete(channel)
      const client = this.listener
      if (client && !this.closed) {
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch((e: Error) => {
          this.log.warn({ err: e.message, channel }, 'postgres: UNLISTEN failed')
        })
      }
    }
  }

  /** The one connection that holds LISTENs; created on first use. */
  private listenClient(): Promise<pg.Client> {
    if (this.listener) return Promise.resolve(this.listener)
    if (!this.listenerReady) {
      this.listenerReady = this.connectListener().finally(() => (this.listenerReady = null))
    }
    return this.listenerReady
  }

  private async connectListener(): Promise<pg.Client> {
    const client = new pg.Client(this.config)
    client.on('notification', (msg) => this.deliver(msg.channel, msg.payload ?? ''))
    client.on('error', (e) => this.listenerLost(client, e))
    client.on('end', () => this.listenerLost(client, new Error('connection ended')))
    await client.connect()
    if (this.closed) {
      await client.end().catch(() => {})
      throw new Error('database is closed')
    }
    this.listener = client
    this.startHeartbeat(client)
    return client
  }

  private startHeartbeat(client: pg.Client): void {
    if (this.heartbeat) clearInterval(this.heartbeat)
    const every = this.opts.listenHeartbeatMs ?? 15_000
    const timeout = this.opts.listenHeartbeatTimeoutMs ?? 5_000
    let inFlight = false
    this.heartbeat = setInterval(() => {
      if (inFlight || this.listener !== client) return
      inFlight = true
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to a heartbeat within ${timeout} ms`)), timeout)
      })
      Promise.race([client.query('SELECT 1'), late])
        .catch((e: unknown) => this.listenerLost(client, e instanceof Error ? e : new Error(String(e))))
        .finally(() => {
          clearTimeout(timer)
          inFlight = false
        })
    }, every)
    this.heartbeat.unref()
  }

  private deliver(channel: string, payload: string): void {
    for (const cb of this.channels.get(channel) ?? []) {
      try {
        cb(payload)
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e), channel }, 'postgres: listener threw')
      }
    }
  }

  private listenerLost(client: pg.Client, e: Error): void {
    if (!this.dropListener(client)) return
    if (this.closed) return
    this.log.warn({ err: e.message }, 'postgres: LISTEN connection lost, reconnecting')
    this.scheduleReconnect(this.opts.reconnectDelayMs ?? 250)
  }

  /** Forgets the LISTEN connection (false when it was already replaced) and tears it down. */
  private dropListener(client: pg.Client): boolean {
    if (this.listener !== client) return false
    this.listener = null
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = null
    // end() waits for the server's goodbye, which a vanished peer never sends: cut the socket too
    client.end().catch(() => {})
    client.connection.stream.destroy()
    return true
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.closed || this.reconnectTimer) return
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      void this.reconnect(delayMs)
    }, delayMs)
    this.reconnectTimer.unref()
  }

  private async reconnect(delayMs: number): Promise<void> {
    try {
      const client = await this.listenClient()
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      this.log.info({ channels: this.channels.size }, 'postgres: LISTEN connection back')
      try {
        this.opts.onListenReconnect?.()
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'postgres: onListenReconnect threw')
      }
    } catch (e) {
      if (this.closed) return
      const next = Math.min(delayMs * 2, 5000)
      this.log.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: next }, 'postgres: reconnect failed')
      // a half-set-up connection is dropped quietly: the backoff below, not the first delay, applies
      if (this.listener) this.dropListener(this.listener)
      this.scheduleReconnect(next)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.heartbeat = null
    const listener = this.listener
    this.listener = null
    this.channels.clear()
    if (listener) await listener.end().catch(() => {})
    await this.pool.end()
  }
}

/** Jittered exponential backoff, so two instances that collided do not collide again in step. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(5 * 2 ** (attempt - 1), 200)
  return Math.round(cap / 2 + random() * (cap / 2))
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * Opens a pool on a postgres:// URL and checks that the server answers, so a wrong URL or a
 * server that is down fails here with a clear message rather than on the first write.
 */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<SqlDatabase> {
  const config: pg.ClientConfig = {
    connectionString: url,
    types: typeParsers,
    application_name: 'vigil',
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    keepAlive: true
  }
  const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 10 })
  const db = new PostgresDatabase(pool, config, opts)
  try {
    await db.get('SELECT 1 AS ok')
  } catch (e) {
    await pool.end().catch(() => {})
    throw new Error(`cannot open PostgreSQL at ${redactPassword(url)}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e
    })
  }
  return db
}

/** The URL with its password replaced, for messages and logs. */
export function redactPassword(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(unparseable URL)'
  }
}
