// A JSON document in the data dir, loaded whole into memory (lowdb), written back durably. Since
// 0.2 it holds only settings.json (settings + camera configuration, see settings.ts); the 0.1
// db.json codec stays for the one-time import into the SQL store. Every change goes through
// mutate() or write(); a write resolving means the change is on disk and survives kill -9 or a
// power cut, and mutate() applies a change to a copy, so a failed write (ENOSPC) leaves memory as
// it was.
import { chmod, mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Low } from 'lowdb'
import { DurableJsonFile, type DurableFsOps } from './durable-file'
import { acquireLock } from './lock'
import { InvalidDbError, NewerSchemaError, upgrade, type Migration } from './migrations'
import { silentLogger, type Logger } from '../log/logger'
import { emptyDb, type DbSchema } from './schema'
import type { DocumentCodec } from './settings'

export const DB_FILE = 'db.json'

/** The 0.1 db.json, for the import and its tests. */
export function legacyCodec(
  migrations?: Readonly<Record<number, Migration>>,
  targetVersion?: number
): DocumentCodec<DbSchema> {
  return {
    file: DB_FILE,
    empty: emptyDb,
    decode: (doc, file) => ({ ...upgrade(doc, file, migrations, targetVersion), problems: [] })
  }
}

interface Versioned {
  schemaVersion: number
}

export interface StoreOptions<T extends Versioned = DbSchema> {
  /** which file and how to read it (default: the 0.1 db.json) */
  codec?: DocumentCodec<T>
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

export class Store<T extends Versioned = DbSchema> {
  data: T
  readonly dataDir: string
  readonly file: string
  readonly opened: OpenOutcome
  private readonly low: Low<T>
  private mutating: Promise<unknown> = Promise.resolve()
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
    adapter: DurableJsonFile<T>,
    data: T,
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
  static async open<D extends Versioned = DbSchema>(dataDir: string, opts: StoreOptions<D> = {}): Promise<Store<D>> {
    const log = opts.logger ?? silentLogger
    await secureDataDir(dataDir, log)
    const release = opts.lock === false ? null : await acquireLock(dataDir)
    try {
      const codec = opts.codec ?? (legacyCodec(opts.migrations, opts.targetVersion) as unknown as DocumentCodec<D>)
      const adapter = new DurableJsonFile<D>(join(dataDir, codec.file), opts.fsOps)
      const { data, opened, needsWrite } = await load(adapter, codec, log)
      const store = new Store<D>(dataDir, adapter, data, opened, log, release)
      if (needsWrite) await store.write()
      // Only now is the file itself complete and current: a temp file left by a crashed write is
      // not needed any more (load() used it when it was the newest complete copy).
      await unlink(adapter.tmp).catch(() => undefined)
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

  /**
   * Applies `fn` to a copy of the data and writes it; the copy becomes `data` only when the write
   * succeeded. A throw in `fn` or a failed write (disk full) leaves `data` exactly as it was.
   * Mutations run one at a time.
   */
  mutate<R>(fn: (d: T) => R): Promise<R> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    const run = this.mutating.then(async () => {
      const draft = structuredClone(this.data)
      const result = fn(draft)
      await this.writeDraft(draft)
      this.data = draft
      return result
    })
    this.mutating = run.catch(() => undefined)
    return run
  }

  private async writeDraft(draft: T): Promise<void> {
    // let a write of the current data already under way finish first: files land in order
    await (this.queued ?? this.running)?.catch(() => undefined)
    if (this.closed) throw new Error('store is closed')
    this.low.data = draft
    const p = this.low.write()
    this.running = p
    try {
      await p
    } catch (e) {
      this.log.error(`[store] writing ${this.file} failed: ${errMsg(e)}`)
      throw e
    } finally {
      if (this.running === p) this.running = null
      this.low.data = this.data
    }
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

interface Loaded<T> {
  data: T
  opened: OpenOutcome
  needsWrite: boolean
}

/**
 * Creates the data dir 0700 and tightens an existing one and the files directly in it to 0700/0600:
 * it holds camera passwords and biometric data. Failures are logged, not fatal (a read-only or
 * foreign-owned dir still opens; the operator learns why it is not private).
 */
export async function secureDataDir(dataDir: string, log: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (process.platform === 'win32') return
  try {
    const st = await stat(dataDir)
    if ((st.mode & 0o077) !== 0) await chmod(dataDir, 0o700)
    for (const e of await readdir(dataDir, { withFileTypes: true })) {
      if (!e.isFile()) continue
      const f = join(dataDir, e.name)
      const m = (await stat(f)).mode
      if ((m & 0o077) !== 0) await chmod(f, m & 0o700)
    }
  } catch (e) {
    log.warn(`[store] could not make ${dataDir} private (0700/0600): ${errMsg(e)}`)
  }
}

async function load<T>(adapter: DurableJsonFile<T>, codec: DocumentCodec<T>, log: Logger): Promise<Loaded<T>> {
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
  const parse = (t: string, name: string): { data: T; fromVersion: number; problems: string[] } =>
    codec.decode(JSON.parse(t) as unknown, name)

  if (text === null) {
    // No file but a complete temp file or a backup: a crash before the rename, or the file was
    // deleted by hand. The newest complete copy wins.
    const recovered = await tryRecover(adapter, parse, log)
    if (recovered) {
      log.error(`[store] ${file} is missing; restored the last complete version from ${recovered.from}`)
      return {
        data: recovered.data,
        opened: { kind: 'recovered-from-backup', movedAside: null, reason: `${codec.file} missing` },
        needsWrite: true
      }
    }
    return { data: codec.empty(), opened: { kind: 'created' }, needsWrite: true }
  }

  try {
    const { data, fromVersion, problems } = parse(text, file)
    const versioned = data as T & Versioned
    if (problems.length > 0) {
      const keep = `${file}.quarantine-${fileStamp(Date.now())}`
      await writeFile(keep, text, { flag: 'wx', mode: 0o600 })
      for (const p of problems) log.error(`[store] ${file}: ${p}`)
      log.error(
        `[store] ${file} had ${problems.length} invalid part(s), set aside above; the original is kept as ${keep}`
      )
    }
    const migrated = fromVersion !== versioned.schemaVersion
    if (migrated) {
      // keep the original until the user is sure the upgrade went well
      const keep = `${file}.pre-v${versioned.schemaVersion}-${fileStamp(Date.now())}`
      await writeFile(keep, text, { flag: 'wx', mode: 0o600 })
      log.warn(
        `[store] migrated ${file} from schemaVersion ${fromVersion} to ${versioned.schemaVersion}; original kept as ${keep}`
      )
    }
    return { data, opened: { kind: 'loaded', fromVersion }, needsWrite: migrated || problems.length > 0 }
  } catch (e) {
    if (e instanceof NewerSchemaError) throw e
    if (!(e instanceof SyntaxError) && !(e instanceof InvalidDbError)) throw e
    const reason = e.message
    const aside = await moveAside(file)
    log.error(`[store] ${file} is corrupt (${reason}); moved it to ${aside}. Nothing was deleted.`)
    const recovered = await tryRecover(adapter, parse, log)
    if (recovered) {
      log.error(
        `[store] restored the last complete version from ${recovered.from}; the very last change before the corruption may be missing`
      )
      return {
        data: recovered.data,
        opened: { kind: 'recovered-from-backup', movedAside: aside, reason },
        needsWrite: true
      }
    }
    log.error(`[store] no usable backup; starting with an EMPTY database. Recover data from ${aside}.`)
    return { data: codec.empty(), opened: { kind: 'reset-empty', movedAside: aside, reason }, needsWrite: true }
  }
}

/**
 * The newest complete copy besides the file itself: the temp file of a write that crashed after
 * its fsync but before its rename (it is complete: it parses), else the previous version (.bak).
 * Neither is deleted here.
 */
async function tryRecover<T>(
  adapter: DurableJsonFile<T>,
  parse: (t: string, name: string) => { data: T },
  log: Logger
): Promise<{ data: T; from: string } | null> {
  for (const path of [adapter.tmp, adapter.backup]) {
    let text: string | null
    try {
      text = await adapter.readText(path)
    } catch (e) {
      log.warn(`[store] cannot read ${path}: ${errMsg(e)}`)
      continue
    }
    if (text === null) continue
    try {
      return { data: parse(text, path).data, from: path }
    } catch (e) {
      // a newer-schema or corrupt copy is left where it is and simply not used
      log.warn(`[store] ${path} is not usable either: ${errMsg(e)}`)
    }
  }
  return null
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
