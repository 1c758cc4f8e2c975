// One process per data directory: two Vigil instances writing the same db.json would each
// overwrite the other's changes (both hold the whole document in memory).
import { readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { hostname, uptime } from 'node:os'
import { join } from 'node:path'
import { ApiError } from '../../shared/api'

export const LOCK_NAME = 'vigil.lock'

interface LockInfo {
  pid: number
  host: string
  at: number
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return errCode(e) === 'EPERM'
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v !== 'object' || v === null) return null
    const o = v as Record<string, unknown>
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null
    return { pid: o.pid, host: o.host, at: typeof o.at === 'number' ? o.at : 0 }
  } catch {
    return null
  }
}

/**
 * Takes `<dataDir>/vigil.lock`, or throws ApiError('busy') naming the process that holds it.
 * A lock is stale when its process is gone, or when it predates the last boot (the pid may have
 * been reused by an unrelated process since). The same process may lock twice (tests reopen).
 * Returns the release function.
 */
export async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_NAME)
  const mine: LockInfo = { pid: process.pid, host: hostname(), at: Date.now() }
  const text = JSON.stringify(mine)
  try {
    await writeFile(file, text, { flag: 'wx' })
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e
    const held = parseLock(await readFile(file, 'utf8').catch(() => ''))
    const bootedAt = Date.now() - uptime() * 1000
    const mtime = await stat(file).then(
      (s) => s.mtimeMs,
      () => 0
    )
    const stale =
      held === null ||
      held.pid === process.pid ||
      mtime < bootedAt ||
      (held.host === mine.host && !isProcessAlive(held.pid))
    if (!stale) {
      const where = held.host === mine.host ? `process ${held.pid}` : `process ${held.pid} on host ${held.host}`
      throw new ApiError(
        'busy',
        `data directory ${dataDir} is in use by ${where}. Close that Vigil first; if it is certainly not running, delete ${file}.`
      )
    }
    await writeFile(file, text)
  }
  return async () => {
    const now = await readFile(file, 'utf8').catch(() => null)
    // someone may have taken over a lock they judged stale; theirs is not ours to delete
    if (now === text) await unlink(file).catch(() => undefined)
  }
}
