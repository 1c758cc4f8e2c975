// The embedded engine: one SQLite file (vigil.db) in the data dir.
//
// Binding: libsql (N-API). It loads unchanged in plain Node (browser mode, CLIs, tests) and in
// Electron's main process, because N-API modules do not depend on the V8 ABI. better-sqlite3 was
// measured as fast (issue #8: 0.02 ms per insert either way), but 13.x crashes on this machine's
// Node 20 and 12.x is built against the V8 ABI, so Electron would need a rebuild step that cannot
// even be tested here (the Electron binary cannot be downloaded).
//
// Durability: WAL with synchronous=NORMAL. A commit appends to the WAL with write(2); once the call
// returns, the data is in the OS page cache and survives kill -9 of Vigil, which is the guarantee
// an acknowledged write needs. What NORMAL gives up is a power cut: commits since the last WAL
// fsync may roll back (the file stays consistent, never corrupt). The durability tick below
// checkpoints at most every `durabilityTickMs` when something was written, and a checkpoint fsyncs
// the WAL first, so a power cut loses at most about one tick of history. synchronous=FULL would
// fsync on every commit: measured here 0.33 ms p50 / 7 ms p99 per insert against 0.02 / 0.07 ms,
// all of it blocking the event loop (libsql is synchronous), which breaks the live pipeline's
// 2 ms insert budget. `synchronous: 'full'` is still available for callers that want it.
//
// Checkpoints run on a second connection in a worker thread: a checkpoint copies the WAL into the
// file and fsyncs both, which measured 50-220 ms under load when SQLite ran it on the main
// connection at commit time (wal_autocheckpoint) - a stall of the live pipeline every few
// hundred writes. The main connection never checkpoints (wal_autocheckpoint=0) until close.
//
// libsql calls are synchronous: every statement blocks the event loop while it runs. Repositories
// keep statements short (indexes, LIMITed batches); this class only adds the async shape of the
// SqlDatabase seam so the PostgreSQL engine can sit behind the same interface.
import { AsyncLocalStorage } from 'node:async_hooks'
import { chmod, mkdir, open } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'libsql'
import type { Logger } from '../../log/logger'
import { silentLogger } from '../../log/logger'
import type { SqlDatabase, SqlExecutor, SqlParams, SqlRow, SqlValue } from './database'
import { numberPlaceholders } from './placeholders'

export interface SqliteOptions {
  logger?: Logger
  /** how long a statement waits for another process's write lock before failing (default 5000) */
  busyTimeoutMs?: number
  /** see the header: 'normal' (default) survives kill -9; 'full' also survives a power cut, slower */
  synchronous?: 'normal' | 'full'
  /** with 'normal': checkpoint (which fsyncs the WAL) at most this often after a write; 0 = off (default 1000) */
  durabilityTickMs?: number
}

/** The checkpointing connection: opened in a worker thread so its fsyncs never block the event loop. */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.binding)
const db = new Database(workerData.file, { timeout: 5000 })
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    process.exit(0)
  }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ ok: true, result: JSON.stringify(r) })
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String((e && e.message) || e) })
  }
})
parentPort.postMessage({ ready: true })
`

interface CheckpointReply {
  ready?: boolean
  ok?: boolean
  error?: string
}

type Connection = Database.Database
type Statement = Database.Statement<unknown[]>

const STATEMENT_CACHE = 200

/** libsql panics (aborting the whole process) on a boolean parameter; SQLite has no boolean type anyway. */
export function toSqliteParam(v: SqlValue): Exclude<SqlValue, boolean> {
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

/**
 * libsql returns BLOBs as Buffer from get() but as ArrayBuffer from all(), and adds a `_metadata`
 * field to get() rows. Repositories see one shape: Uint8Array, no extra keys.
 */
export function normaliseRow(raw: unknown): SqlRow {
  const row = raw as Record<string, unknown>
  const out: SqlRow = {}
  for (const k of Object.keys(row)) {
    if (k === '_metadata') continue
    const v = row[k]
    out[k] = v instanceof ArrayBuffer ? new Uint8Array(v) : v
  }
  return out
}

export class SqliteDatabase implements SqlDatabase {
  readonly engine = 'sqlite' as const
  readonly file: string
  private readonly db: Connection
  private readonly log: Logger
  private readonly statements = new Map<string, { st: Statement; placeholders: number }>()
  private readonly listeners = new Map<string, Set<(payload: string) => void>>()
  /** FIFO of transactions; plain calls queue behind it only while it is non-empty */
  private tail: Promise<void> = Promise.resolve()
  private waiting = 0
  /** marks the async context of a running transaction, to turn a self-deadlock into an error */
  private readonly inTx = new AsyncLocalStorage<{ active: boolean }>()
  private dirty = false
  private tick: ReturnType<typeof setInterval> | null = null
  private worker: Worker | null = null
  private checkpointing = false
  private workerReady = false
  private closed = false

  private constructor(file: string, db: Connection, log: Logger) {
    this.file = file
    this.db = db
    this.log = log
  }

  /**
   * Opens (creating when absent) the SQLite file. The file is created 0600 before SQLite touches
   * it: SQLite gives its -wal and -shm files the main file's permissions, and the data holds
   * biometric templates.
   */
  static async open(file: string, opts: SqliteOptions = {}): Promise<SqliteDatabase> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    const fh = await open(file, 'a', 0o600)
    await fh.close()
    await chmod(file, 0o600)
    const db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 })
    try {
      db.pragma('journal_mode = WAL')
      const sync = opts.synchronous ?? 'normal'
      db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`)
      db.pragma('foreign_keys = ON')
      // 32 MB of page cache (default 2 MB): the indexes of a million events stay in memory, so a
      // purge batch or a stats slice does not wait on page reads while the event loop is blocked
      db.pragma('cache_size = -32768')
      db.pragma('temp_store = MEMORY')
      const self = new SqliteDatabase(file, db, opts.logger ?? silentLogger)
      const tickMs = opts.durabilityTickMs ?? 1000
      if (tickMs > 0) {
        // not awaited: the worker thread takes a moment to start and open is on the start-up path
        self.worker = startCheckpointWorker(
          file,
          (m) => self.checkpointDone(m),
          (e) => {
            // without the worker SQLite checkpoints at commit again: stalls, but nothing grows unbounded
            self.log.warn({ err: String(e) }, 'store: checkpoint worker unavailable; checkpoints run inline')
            self.worker = null
            if (!self.closed) db.pragma('wal_autocheckpoint = 1000')
          }
        )
        if (self.worker) {
          db.pragma('wal_autocheckpoint = 0')
          self.tick = setInterval(() => self.durabilityTick(), tickMs)
          self.tick.unref()
        }
      }
      return self
    } catch (e) {
      db.close()
      throw e
    }
  }

  run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    return this.outside(() => this.runNow(sql, params))
  }

  all<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.outside(() => this.allNow<T>(sql, params))
  }

  get<T extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return this.outside(() => this.getNow<T>(sql, params))
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.assertOpen()
    if (this.inTx.getStore()?.active)
      throw new Error('SqliteDatabase.transaction called inside a transaction: use its tx')
    const release = await this.acquire()
    // an object, not a flag: timers started inside fn inherit the context and outlive the transaction
    const ctx = { active: true }
    const guard = <R>(f: () => R): Promise<R> => {
      if (!ctx.active) return Promise.reject(new Error('transaction already ended: a tx call escaped its callback'))
      try {
        return Promise.resolve(f())
      } catch (e) {
        return Promise.reject(e)
      }
    }
    const tx: SqlExecutor = {
      engine: 'sqlite',
      run: (sql, params) => guard(() => this.runNow(sql, params)),
      all: <R extends SqlRow = SqlRow>(sql: string, params?: SqlParams) => guard(() => this.allNow<R>(sql, params)),
      get: <R extends SqlRow = SqlRow>(sql: string, params?: SqlParams) => guard(() => this.getNow<R>(sql, params))
    }
    try {
      this.assertOpen()
      // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
      // can fail with SQLITE_BUSY half-way when another process (a CLI) writes meanwhile.
      this.db.exec('BEGIN IMMEDIATE')
      let result: T
      try {
        result = await this.inTx.run(ctx, () => fn(tx))
      } catch (e) {
        ctx.active = false
        if (this.db.inTransaction) this.db.exec('ROLLBACK')
        throw e
      }
      ctx.active = false
      try {
        this.db.exec('COMMIT')
      } catch (e) {
        // a failed COMMIT (disk full, I/O error) can leave the transaction open; nothing of it may stay
        if (this.db.inTransaction) this.db.exec('ROLLBACK')
        throw e
      }
      this.dirty = true
      return result
    } finally {
      ctx.active = false
      release()
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    this.assertOpen()
    const set = this.listeners.get(channel)
    if (!set) return
    // Delivered after the caller continues, like a notification from another process would be.
    for (const fn of [...set]) {
      setImmediate(() => {
        try {
          fn(payload)
        } catch (e) {
          this.log.error({ err: String(e), channel }, 'store: notification listener failed')
        }
      })
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    this.assertOpen()
    let set = this.listeners.get(channel)
    if (!set) {
      set = new Set()
      this.listeners.set(channel, set)
    }
    const fn = (p: string): void => onPayload(p)
    set.add(fn)
    return async () => {
      set.delete(fn)
      if (set.size === 0) this.listeners.delete(channel)
    }
  }

  /** Waits for queued transactions, checkpoints the WAL into the file and closes. */
  async close(): Promise<void> {
    if (this.closed) return
    const release = await this.acquire()
    try {
      if (this.tick) clearInterval(this.tick)
      this.tick = null
      this.closed = true
      await stopWorker(this.worker)
      this.worker = null
      this.listeners.clear()
      this.statements.clear()
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)')
      } catch (e) {
        // the WAL stays beside the file and is replayed on the next open: nothing is lost
        this.log.warn({ err: String(e) }, 'store: final checkpoint failed')
      }
      this.db.close()
    } finally {
      release()
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('database is closed')
  }

  /** Plain calls run at once unless a transaction is open or queued; then they wait their turn. */
  private async outside<R>(f: () => R): Promise<R> {
    this.assertOpen()
    if (this.inTx.getStore()?.active) {
      throw new Error('database used directly inside its own transaction (it would wait for itself): use the tx')
    }
    if (this.waiting === 0) return f()
    const release = await this.acquire()
    try {
      this.assertOpen()
      return f()
    } finally {
      release()
    }
  }

  private async acquire(): Promise<() => void> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>((r) => (release = r))
    this.waiting++
    await prev
    return () => {
      this.waiting--
      release()
    }
  }

  /**
   * One cached statement per (call kind, sql). libsql 0.5.29 returns stale rows when one statement
   * serves both all() and get(): after all(), the next get() answers with the first row of that
   * earlier all(), whatever its parameters (reproduced in test/store/sql/contract.ts). Keeping the
   * kinds apart avoids that. The statement's `?` count is checked against the parameters because
   * libsql binds NULL for missing ones instead of failing.
   */
  private prepare(kind: 'run' | 'all' | 'get', sql: string, params: SqlParams | undefined): Statement {
    const key = `${kind}\u0000${sql}`
    let entry = this.statements.get(key)
    if (entry) {
      // refresh its place: the Map's order is the LRU order
      this.statements.delete(key)
      this.statements.set(key, entry)
    } else {
      entry = { st: this.db.prepare(sql), placeholders: numberPlaceholders(sql).count }
      this.statements.set(key, entry)
      if (this.statements.size > STATEMENT_CACHE) {
        const oldest = this.statements.keys().next().value
        if (oldest !== undefined) this.statements.delete(oldest)
      }
    }
    const given = params?.length ?? 0
    if (entry.placeholders !== given) {
      throw new Error(`query has ${entry.placeholders} ? placeholder(s) but ${given} parameter(s) were given: ${sql}`)
    }
    return entry.st
  }

  private bind(params: SqlParams | undefined): Exclude<SqlValue, boolean>[] {
    return params ? params.map(toSqliteParam) : []
  }

  private runNow(sql: string, params?: SqlParams): { changes: number } {
    const r = this.prepare('run', sql, params).run(this.bind(params))
    if (!this.db.inTransaction) this.dirty = true
    return { changes: r.changes }
  }

  private allNow<T extends SqlRow>(sql: string, params?: SqlParams): T[] {
    return this.prepare('all', sql, params)
      .all(this.bind(params))
      .map((r: unknown) => normaliseRow(r) as T)
  }

  private getNow<T extends SqlRow>(sql: string, params?: SqlParams): T | undefined {
    const r = this.prepare('get', sql, params).get(this.bind(params))
    return r === undefined || r === null ? undefined : (normaliseRow(r) as T)
  }

  private durabilityTick(): void {
    if (!this.dirty || this.closed || this.checkpointing || !this.worker || !this.workerReady) return
    this.dirty = false
    this.checkpointing = true
    this.worker.postMessage('checkpoint')
  }

  private checkpointDone(m: CheckpointReply): void {
    if (m.ready) {
      this.workerReady = true
      return
    }
    this.checkpointing = false
    if (!m.ok) {
      this.dirty = true
      this.log.warn({ err: m.error }, 'store: periodic WAL checkpoint failed')
    }
  }
}

/** The checkpoint worker (replies go to onReply), or null when it cannot even be created. */
function startCheckpointWorker(
  file: string,
  onReply: (m: CheckpointReply) => void,
  onFail: (e: unknown) => void
): Worker | null {
  try {
    const binding = createRequire(import.meta.url).resolve('libsql')
    const worker = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { binding, file } })
    worker.unref()
    worker.on('message', onReply)
    worker.on('error', onFail)
    return worker
  } catch (e) {
    onFail(e)
    return null
  }
}

/** Lets the worker close its connection itself (a connection torn down with the thread can abort the process). */
async function stopWorker(worker: Worker | null): Promise<void> {
  if (!worker) return
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  worker.postMessage('close')
  const timer = setTimeout(() => void worker.terminate(), 2000)
  await exited
  clearTimeout(timer)
}
