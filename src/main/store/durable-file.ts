// lowdb adapter that survives kill -9 and power loss. lowdb's JSONFile (steno) writes a temp file
// and renames it, but never fsyncs: after a power cut the rename can reach the disk before the
// data, leaving an empty or truncated db.json. Here the temp file is fsynced before the rename and
// the directory after it, so write() resolving means the new content is on disk.
import { link, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Adapter } from 'lowdb'

/** The file-system steps of a write, replaceable so tests can observe the order or fail a step. */
export interface DurableFsOps {
  /** create/truncate `path`, write `text`, fsync, close */
  writeSynced(path: string, text: string): Promise<void>
  rename(from: string, to: string): Promise<void>
  link(existing: string, newPath: string): Promise<void>
  unlink(path: string): Promise<void>
  /** make a rename inside `dir` durable; a no-op where directories cannot be opened (Windows) */
  syncDir(dir: string): Promise<void>
}

export const realFsOps: DurableFsOps = {
  async writeSynced(path, text) {
    // 0600: the data dir holds camera passwords and biometric data
    const fh = await open(path, 'w', 0o600)
    try {
      await fh.writeFile(text, 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
  },
  rename: (from, to) => rename(from, to),
  link: (existing, newPath) => link(existing, newPath),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    let fh
    try {
      fh = await open(dir, 'r')
    } catch {
      return
    }
    try {
      await fh.sync()
    } catch {
      // some file systems refuse fsync on directories; the data itself is already synced
    } finally {
      await fh.close()
    }
  }
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Windows: a reader or virus scanner holding db.json makes the replacing rename fail for a moment. */
async function renameWithRetry(ops: DurableFsOps, from: string, to: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await ops.rename(from, to)
    } catch (e) {
      const code = errCode(e)
      if (i >= 9 || (code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY')) throw e
      await sleep(50 * (i + 1))
    }
  }
}

export const tempPathOf = (file: string): string => join(dirname(file), `.${basename(file)}.tmp`)
export const backupPathOf = (file: string): string => `${file}.bak`

export class DurableJsonFile<T> implements Adapter<T> {
  readonly file: string
  readonly tmp: string
  readonly backup: string
  private readonly ops: DurableFsOps

  constructor(file: string, ops: Partial<DurableFsOps> = {}) {
    this.file = file
    this.tmp = tempPathOf(file)
    this.backup = backupPathOf(file)
    this.ops = { ...realFsOps, ...ops }
  }

  /** Raw text, or null when the file does not exist. Other read errors propagate: not safe to start empty. */
  async readText(path = this.file): Promise<string | null> {
    try {
      return await readFile(path, 'utf8')
    } catch (e) {
      if (errCode(e) === 'ENOENT') return null
      throw e
    }
  }

  async read(): Promise<T | null> {
    const text = await this.readText()
    return text === null ? null : (JSON.parse(text) as T)
  }

  /**
   * Serialises synchronously, before the first await, so the caller knows which in-memory state
   * the write captures (the Store's write coalescing relies on this).
   */
  write(data: T): Promise<void> {
    const text = JSON.stringify(data)
    return this.writeText(text)
  }

  private async writeText(text: string): Promise<void> {
    const { ops, file, tmp, backup } = this
    await ops.writeSynced(tmp, text)
    // Keep the previous version as <file>.bak (a hard link: no copy). It is what open() falls back
    // to if the file is ever found corrupt. The new link is made under another name and renamed
    // over the old backup, so at every instant some complete previous version exists (unlinking
    // the old backup first left a window with none). Best effort: some file systems have no hard
    // links; then the older backup simply stays.
    const nextBackup = `${backup}.next`
    try {
      await ops.unlink(nextBackup).catch(() => undefined)
      await ops.link(file, nextBackup)
      await ops.rename(nextBackup, backup)
    } catch {
      // no previous file yet, or no hard links on this file system
    }
    await renameWithRetry(ops, tmp, file)
    await ops.syncDir(dirname(file))
  }
}
