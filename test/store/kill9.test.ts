// Acceptance: a process killed with SIGKILL mid-write never loses a completed write and never
// leaves a store that fails to load: the settings document (lowdb) and the SQLite store.
import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../src/main/store/db'
import { openSqlStore } from '../../src/main/store/sql-store'
import { recordingLogger, tempDir } from './helpers'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const writer = join(repoRoot, 'test/store/fixtures/writer.ts')
const sqlWriter = join(repoRoot, 'test/store/fixtures/writer-sql.ts')

let dir: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-kill9-'))
})
afterAll(() => cleanup())

interface Run {
  printed: number[]
  killedAfterMs: number
}

/** Starts the writer, waits until it is in its loop, kills it after a random delay. */
function runAndKill(delayMs: number, script = writer, target = dir): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, target], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const printed: number[] = []
    let buf = ''
    let stderr = ''
    let killedAfterMs = -1
    let readyAt = 0
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop() ?? ''
      for (const line of lines) {
        if (line === 'ready') readyAt = Date.now()
        else if (/^\d+$/.test(line)) {
          printed.push(Number(line))
          // the kill clock starts at the first acknowledged write, not at 'ready': on a loaded
          // machine one write of the 5 000-event file can take longer than the whole delay
          if (printed.length === 1)
            setTimeout(() => {
              killedAfterMs = Date.now() - readyAt
              child.kill('SIGKILL')
            }, delayMs)
        }
      }
    })
    child.on('error', reject)
    // 'exit' also reaps the child, so its pid is really gone before the store is reopened
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code}): ${stderr}`))
      else resolvePromise({ printed, killedAfterMs })
    })
  })
}

describe('kill -9 during writes', () => {
  it('every counter printed before the kill is in the reopened db, every time', async () => {
    const rounds = 5
    let allPrinted = 0
    for (let round = 0; round < rounds; round++) {
      const delay = 150 + Math.floor(Math.random() * 900)
      const { printed, killedAfterMs } = await runAndKill(delay)
      const logger = recordingLogger()
      const store = await Store.open(dir, { logger })
      try {
        expect(store.opened.kind).toBe('loaded')
        expect(logger.errors).toEqual([])
        const ids = new Set(store.data.events.map((e) => e.id))
        const missing = printed.filter((n) => !ids.has(`k9-${n}`))
        expect(missing).toEqual([])
        expect(store.data.events.length).toBeGreaterThanOrEqual(5000 + printed.length)
        allPrinted += printed.length
        console.log(
          `[kill9] round ${round + 1}: killed ${killedAfterMs} ms into the loop, ${printed.length} acknowledged writes, all present; db has ${store.data.events.length} events`
        )
      } finally {
        await store.close()
      }
    }
    expect(allPrinted).toBeGreaterThan(0)
    expect((await readdir(dir)).filter((f) => f.includes('corrupt'))).toEqual([])
  }, 120_000)
})

describe('kill -9 during writes, SQLite store', () => {
  it('every counter printed before the kill is in the reopened database, with its updates', async () => {
    const sqlDir = join(dir, 'sql')
    let allPrinted = 0
    for (let round = 0; round < 4; round++) {
      const delay = 150 + Math.floor(Math.random() * 900)
      const { printed, killedAfterMs } = await runAndKill(delay, sqlWriter, sqlDir)
      const sql = await openSqlStore({ dataDir: sqlDir })
      try {
        expect(await sql.db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' })
        for (const n of printed) {
          const e = await sql.events.get(`k9-${n}`)
          expect(e, `k9-${n} acknowledged but missing`).not.toBeNull()
          expect(e?.decision).toBe(n % 2 ? 'confirmed' : 'rejected')
        }
        allPrinted += printed.length
        console.log(
          `[kill9] sqlite round ${round + 1}: killed ${killedAfterMs} ms into the loop, ${printed.length} acknowledged writes, all present; ${await sql.events.total()} events`
        )
      } finally {
        await sql.close()
      }
    }
    expect(allPrinted).toBeGreaterThan(0)
  }, 120_000)
})
