// Acceptance on PostgreSQL: SIGKILL to Vigil mid-write, and SIGKILL to the whole database server
// mid-write, never lose a write that was acknowledged. The server here runs with real fsync and
// synchronous commits (the default of a real installation), unlike the other PostgreSQL tests.
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../src/main/store/sql/postgres'
import { tempDir } from './helpers'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// the SQL store's writer (the app's event repository), shared with the SQLite kill -9 test
const writer = join(repoRoot, 'test/store/fixtures/writer-sql.ts')

const skip = skipWithoutPostgres('kill -9 on PostgreSQL')

let server: PgServer
let dir: string
let cleanup: (() => Promise<void>) | undefined
beforeAll(async () => {
  if (skip) return
  server = await startPostgres({ durable: true })
  ;({ dir, cleanup } = await tempDir('vigil-kill9-pg-'))
})
afterAll(async () => {
  await server?.stop()
  await cleanup?.()
})

interface Run {
  printed: number[]
  killedAfterMs: number
}

/**
 * Starts the writer, waits until it is in its loop, then after delayMs kills it ('client') or
 * crashes the server under it ('server'; the writer then fails on its own and is killed too).
 */
function runAndKill(delayMs: number, target: 'client' | 'server'): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, server.url], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const printed: number[] = []
    let buf = ''
    let stderr = ''
    let killedAfterMs = -1
    let killed = false
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n')
      buf = lines.pop() ?? ''
      for (const line of lines) {
        if (line === 'ready') {
          const readyAt = Date.now()
          setTimeout(() => {
            killedAfterMs = Date.now() - readyAt
            killed = true
            if (target === 'client') child.kill('SIGKILL')
            else
              void server.crash().then(
                () => child.kill('SIGKILL'),
                (e: unknown) => reject(e)
              )
          }, delayMs)
        } else if (/^\d+$/.test(line)) printed.push(Number(line))
      }
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      // after a server crash the writer may die of its own connection errors first: that is fine
      if (!killed) reject(new Error(`writer exited by itself (code ${code}, signal ${signal}): ${stderr}`))
      else resolvePromise({ printed, killedAfterMs })
    })
  })
}

describe.skipIf(skip)('kill -9 during writes on PostgreSQL', () => {
  it('every counter printed before Vigil or the server was killed is in the database, every time', async () => {
    const plan: ('client' | 'server')[] = ['client', 'server', 'client', 'server', 'client']
    let allPrinted = 0
    for (const [round, target] of plan.entries()) {
      const delay = 150 + Math.floor(Math.random() * 900)
      const { printed, killedAfterMs } = await runAndKill(delay, target)
      if (target === 'server') await server.restart()
      const db = await openPostgres(server.url)
      try {
        const rows = await db.all<{ id: string; decision: string }>(
          "SELECT id, decision FROM events WHERE id LIKE 'k9-%'"
        )
        const decided = new Map(rows.map((r) => [r.id, r.decision]))
        const ids = new Set(decided.keys())
        // the insert, the update and the decision's transaction of each printed counter are all there
        const missing = printed.filter((n) => decided.get(`k9-${n}`) !== (n % 2 ? 'confirmed' : 'rejected'))
        expect(missing).toEqual([])
        allPrinted += printed.length
        console.log(
          `[kill9-pg] round ${round + 1}: ${target} killed ${killedAfterMs} ms into the loop, ${printed.length} acknowledged writes, all present; ${ids.size} written in all`
        )
      } finally {
        await db.close()
      }
    }
    expect(allPrinted).toBeGreaterThan(0)
  }, 180_000)
})
