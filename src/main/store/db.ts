// The embedded document store: db.json in the data dir, loaded whole into memory (lowdb), written
// back durably. Every change goes through mutate() or write(); a write resolving means the change
// is on disk and survives kill -9 or a power cut.
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Low } from 'lowdb'
import { DurableJsonFile, type DurableFsOps } from './durable-file'
import { acquireLock } from './lock'
import { InvalidDbError, NewerSchemaError, upgrade, type Migration } from './migrations'
import { silentLogger, type Logger } from '../log/logger'
import { emptyDb, type DbSchema } from './schema'

export const DB_FILE = 'db.json'

export interface StoreOptions {
  /** default: silent (createBackend passes the app's logger) */
  logger?: Logger
  /** take vigil.lock so a second process cannot open the same dir (default true) */
  lock?: boolean
  /** tests: observe or fail the file-system steps of a write */
  fsOps?: Partial<DurableFsOps>
  /** tests: extra migrations and the version to reach */
  migrations?: Readonly<Record<number, Migration>>
  targetVersion?: number
}

/** How open() found the file, for the log and for tests. */
export type OpenOutcome =
  | { kind: 'loaded'; fromVersion: number }
  | { kind: 'created' }
  | { kind: 'recovered-from-backup'; movedAside: string | null; reason: string }
  | { kind: 'reset-empty'; movedAside: string; reason: string }

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined
}

const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Colons are not allowed in Windows file names. */
export const fileStamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-')

export class Store {
  data: DbSchema
  readonly dataDir: string
  readonly file: string
  readonly opened: OpenOutcome
  private readonly low: Low<DbSchema>
  private readonly log: Logger
  private running: Promise<void> | null = null
  private queued: Promise<void> | null = null
  private soon: {
    timer: ReturnType<typeof setTimeout>
    promise: Promise<void>
    resolve: () => void
    reject: (e: unknown) => void
  } | null = null
  private releaseLock: (() => Promise<void>) | null
  private closed = false

  private constructor(
    dataDir: string,
    adapter: DurableJsonFile<DbSchema>,
    data: DbSchema,
    opened: OpenOutcome,
    log: Logger,
    releaseLock: (() => Promise<void>) | null
  ) {
    this.dataDir = dataDir
    this.file = adapter.file
    this.low = new Low(adapter, data)
    this.data = data
    this.opened = opened
    this.log = log
    this.releaseLock = releaseLock
  }

  /**
   * Loads `<dataDir>/db.json`, creating the dir and an empty db when absent.
   * - newer schemaVersion: throws NewerSchemaError, file untouched;
   * - unreadable (permissions, I/O): throws, file untouched;
   * - corrupt (bad JSON, not a Vigil db): renamed to db.json.corrupt-<ts>, then the previous version
   *   (db.json.bak) is used if it is valid, else an empty db; both logged as errors.
   */
  static async open(dataDir: string, opts: StoreOptions = {}): Promise<Store> {
    const log = opts.logger ?? silentLogger
    await mkdir(dataDir, { recursive: true })
    const release = opts.lock === false ? null : await acquireLock(dataDir)
    try {
      const adapter = new DurableJsonFile<DbSchema>(join(dataDir, DB_FILE), opts.fsOps)
      const { data, opened, needsWrite } = await load(adapter, log, opts)
      const store = new Store(dataDir, adapter, data, opened, log, release)
      // A crashed write leaves its temp file; db.json itself is the last complete version.
      await unlink(adapter.tmp).catch(() => undefined)
      if (needsWrite) await store.write()
      return store
    } catch (e) {
      await release?.()
      throw e
    }
  }

  /**
   * Persists `data`. Calls coalesce: while one write runs, every later call joins a single queued
   * write that starts when the first finishes and serialises the state at that moment, so each
   * caller resolves only after a write that includes its change.
   */
  write(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    if (this.queued) return this.queued
    if (this.running) {
      const queued = this.running
        .then(
          () => undefined,
          () => undefined
        )
        .then(() => {
          this.queued = null
          return this.startWrite()
        })
      this.queued = queued
      return queued
    }
    return this.startWrite()
  }

  /** Apply `fn` to the data, then write. `fn` should validate before it changes anything: a throw is not rolled back. */
  async mutate<T>(fn: (d: DbSchema) => T): Promise<T> {
    if (this.closed) throw new Error('store is closed')
    const result = fn(this.data)
    await this.write()
    return result
  }

  /**
   * Write within `delayMs`, for frequent low-value changes (a live track's box and timestamp):
   * many calls in the window cost one write. Resolves after that write.
   */
  writeSoon(delayMs = 1000): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    if (this.soon) return this.soon.promise
    let resolve!: () => void
    let reject!: (e: unknown) => void
    const promise = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    const timer = setTimeout(() => this.fireSoon(), delayMs)
    this.soon = { timer, promise, resolve, reject }
    return promise
  }

  /** Flushes pending writes, then releases the lock. Further writes reject. */
  async close(): Promise<void> {
    if (this.closed) return
    if (this.soon) {
      clearTimeout(this.soon.timer)
      this.fireSoon()
    }
    await (this.queued ?? this.running)?.catch(() => undefined)
    this.closed = true
    await this.releaseLock?.()
    this.releaseLock = null
  }

  private fireSoon(): void {
    const s = this.soon
    if (!s) return
    this.soon = null
    this.write().then(s.resolve, s.reject)
  }

  private startWrite(): Promise<void> {
    // low.data may have been replaced by `store.data = …`; lowdb writes low.data
    this.low.data = this.data
    const p = this.low.write()
    this.running = p
    const clear = (): void => {
      if (this.running === p) this.running = null
    }
    p.then(clear, (e: unknown) => {
      clear()
      this.log.error(`[store] writing ${this.file} failed: ${errMsg(e)}`)
    })
    return p
  }
}

interface Loaded {
  data: DbSchema
  opened: OpenOutcome
  needsWrite: boolean
}

async function load(adapter: DurableJsonFile<DbSchema>, log: Logger, opts: StoreOptions): Promise<Loaded> {
  const file = adapter.file
  let text: string | null
  try {
    text = await adapter.readText()
  } catch (e) {
    throw new Error(
      `cannot read ${file}: ${errMsg(e)}. Not starting with an empty database; fix the file's permissions or the disk.`,
      { cause: e }
    )
  }
  const parse = (t: string, name: string): { data: DbSchema; fromVersion: number } =>
    upgrade(JSON.parse(t) as unknown, name, opts.migrations, opts.targetVersion)

  if (text === null) {
    // No db.json but a backup: the file was deleted by hand or by another tool, not by a write.
    const fromBackup = await tryBackup(adapter, parse, log)
    if (fromBackup) {
      log.error(`[store] ${file} is missing; restored the previous version from ${adapter.backup}`)
      return {
        data: fromBackup,
        opened: { kind: 'recovered-from-backup', movedAside: null, reason: 'db.json missing' },
        needsWrite: true
      }
    }
    return { data: emptyDb(), opened: { kind: 'created' }, needsWrite: true }
  }

  try {
    const { data, fromVersion } = parse(text, file)
    const migrated = fromVersion !== data.schemaVersion
    if (migrated) {
      // keep the original until the user is sure the upgrade went well
      const keep = `${file}.pre-v${data.schemaVersion}-${fileStamp(Date.now())}`
      await writeFile(keep, text, { flag: 'wx' })
      log.warn(
        `[store] migrated ${file} from schemaVersion ${fromVersion} to ${data.schemaVersion}; original kept as ${keep}`
      )
    }
    return { data, opened: { kind: 'loaded', fromVersion }, needsWrite: migrated }
  } catch (e) {
    if (e instanceof NewerSchemaError) throw e
    if (!(e instanceof SyntaxError) && !(e instanceof InvalidDbError)) throw e
    const reason = e.message
    const aside = await moveAside(file)
    log.error(`[store] ${file} is corrupt (${reason}); moved it to ${aside}. Nothing was deleted.`)
    const fromBackup = await tryBackup(adapter, parse, log)
    if (fromBackup) {
      log.error(
        `[store] restored the previous version from ${adapter.backup}; the very last change before the corruption may be missing`
      )
      return {
        data: fromBackup,
        opened: { kind: 'recovered-from-backup', movedAside: aside, reason },
        needsWrite: true
      }
    }
    log.error(`[store] no usable backup; starting with an EMPTY database. Recover data from ${aside}.`)
    return { data: emptyDb(), opened: { kind: 'reset-empty', movedAside: aside, reason }, needsWrite: true }
  }
}

async function tryBackup(
  adapter: DurableJsonFile<DbSchema>,
  parse: (t: string, name: string) => { data: DbSchema },
  log: Logger
): Promise<DbSchema | null> {
  let text: string | null
  try {
    text = await adapter.readText(adapter.backup)
  } catch (e) {
    log.warn(`[store] cannot read ${adapter.backup}: ${errMsg(e)}`)
    return null
  }
  if (text === null) return null
  try {
    return parse(text, adapter.backup).data
  } catch (e) {
    // a newer-schema or corrupt backup is left where it is and simply not used
    log.warn(`[store] ${adapter.backup} is not usable either: ${errMsg(e)}`)
    return null
  }
}

/** Renames `file` to `<file>.corrupt-<ts>` (never over an existing file). Throws if that is impossible: then starting empty is not safe. */
async function moveAside(file: string): Promise<string> {
  const base = `${file}.corrupt-${fileStamp(Date.now())}`
  for (let i = 0; i < 100; i++) {
    const target = i === 0 ? base : `${base}-${i}`
    const exists = await stat(target).then(
      () => true,
      (e: unknown) => {
        if (errCode(e) === 'ENOENT') return false
        throw e
      }
    )
    if (exists) continue
    try {
      await rename(file, target)
    } catch (e) {
      throw new Error(`${file} is corrupt and could not be moved aside (${errMsg(e)}); refusing to overwrite it`, {
        cause: e
      })
    }
    return target
  }
  throw new Error(`${file} is corrupt and too many ${base}* files exist; refusing to overwrite it`)
}
