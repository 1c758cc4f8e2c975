// The PostgreSQL engine against a real server started for this file (test/support/postgres.ts):
// the shared SqlDatabase contract, then what only a server shared by several instances has.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SqlDatabase } from '../../../src/main/store/sql/database'
import { migrate, NewerDatabaseError } from '../../../src/main/store/sql/migrate'
import { openDatabase } from '../../../src/main/store/sql/open'
import { openPostgres, type PostgresOptions } from '../../../src/main/store/sql/postgres'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../../support/postgres'
import { sqlContract } from './contract'

const skip = skipWithoutPostgres('PostgreSQL engine')

let server: PgServer
beforeAll(async () => {
  if (!skip) server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

const open = (opts: PostgresOptions = {}): Promise<SqlDatabase> => openPostgres(server.url, opts)

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

describe.skipIf(skip)('PostgreSQL engine', () => {
  sqlContract('postgres', { open: () => open() })

  describe('beyond the shared contract', () => {
    it('int8 beyond 2^53 comes back as an exact bigint, numeric as a number', async () => {
      const db = await open()
      try {
        const big = 2n ** 60n + 7n
        expect(await db.get('SELECT ?::bigint AS big, ?::bigint AS small, 2.5::numeric AS num', [big, 42])).toEqual({
          big,
          small: 42,
          num: 2.5
        })
      } finally {
        await db.close()
      }
    })

    it('a parameterless script runs several statements (migrations are scripts)', async () => {
      const db = await open()
      try {
        await db.run(
          'CREATE TABLE script_a (id INTEGER); CREATE TABLE script_b (id INTEGER); INSERT INTO script_b VALUES (7)'
        )
        expect(await db.all('SELECT id FROM script_b')).toEqual([{ id: 7 }])
      } finally {
        await db.close()
      }
    })

    it('a failing statement names itself in the error and keeps the server code', async () => {
      const db = await open()
      try {
        const err = await db.get('SELECT * FROM no_such_table WHERE id = ?', [1]).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(Error)
        expect((err as Error).message).toMatch(/no_such_table.*in: SELECT \* FROM no_such_table WHERE id = \?/)
        expect((err as { code?: string }).code).toBe('42P01')
      } finally {
        await db.close()
      }
    })

    it('a wrong URL fails at open with a message that hides the password', async () => {
      const url = `postgres://postgres:s3cret@127.0.0.1:${server.port}/no_such_db`
      const err = await openPostgres(url).catch((e: unknown) => e)
      expect((err as Error).message).toMatch(
        /cannot open PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1.*no_such_db/
      )
      expect((err as Error).message).not.toContain('s3cret')
    })

    it('a notify payload over the server limit or with a NUL is refused with a clear error', async () => {
      const db = await open()
      try {
        await expect(db.notify('vigil_big', 'x'.repeat(8000))).rejects.toThrow(/at most 7999/)
        await expect(db.notify('vigil_big', 'instance\u0000person')).rejects.toThrow(/NUL/)
      } finally {
        await db.close()
      }
    })

    it('two instances: a notify on one reaches the other (and itself)', async () => {
      const a = await open()
      const b = await open()
      try {
        const atA: string[] = []
        const atB: string[] = []
        await a.listen('vigil_gallery', (p) => atA.push(p))
        await b.listen('vigil_gallery', (p) => atB.push(p))
        await a.notify('vigil_gallery', 'person:p1')
        await until(() => atA.length === 1 && atB.length === 1)
        expect(atB).toEqual(['person:p1'])
      } finally {
        await a.close()
        await b.close()
      }
    })

    it('two instances deciding one item at once: exactly one decides, the other sees it decided', async () => {
      const a = await open()
      const b = await open()
      try {
        await a.run('CREATE TABLE race_items (id TEXT PRIMARY KEY, status TEXT NOT NULL, decided_by TEXT)')
        const rounds = 15
        for (let r = 0; r < rounds; r++) {
          await a.run('INSERT INTO race_items (id, status) VALUES (?, ?)', [`i${r}`, 'pending'])
          const decide = (db: SqlDatabase, who: string): Promise<string> =>
            db.transaction(async (tx) => {
              // read, check, write: the pattern repositories use; SERIALIZABLE makes it safe
              const row = await tx.get<{ status: string }>('SELECT status FROM race_items WHERE id = ?', [`i${r}`])
              if (row!.status !== 'pending') return 'conflict'
              await sleep(3)
              await tx.run('UPDATE race_items SET status = ?, decided_by = ? WHERE id = ?', ['confirmed', who, `i${r}`])
              return 'decided'
            })
          const outcomes = await Promise.all([decide(a, 'a'), decide(b, 'b')])
          expect(outcomes.sort()).toEqual(['conflict', 'decided'])
        }
        const rows = await b.all<{ decided_by: string }>('SELECT decided_by FROM race_items')
        expect(rows).toHaveLength(rounds)
      } finally {
        await a.close()
        await b.close()
      }
    })

    it('openDatabase picks PostgreSQL for a postgres:// URL, migrates it and refuses a newer one', async () => {
      const url = await server.createDatabase('opened')
      const x1 = { box: 'opened', version: 1, name: 'x', sql: 'CREATE TABLE opened_x (a INTEGER)' }
      const x2 = { box: 'opened', version: 2, name: 'x2', sql: 'CREATE TABLE opened_x2 (a INTEGER)' }
      const db = await openDatabase({ url: ` ${url} `, dataDir: '/nonexistent', migrations: [x1, x2] })
      try {
        expect(db.engine).toBe('postgres')
        await db.run('INSERT INTO opened_x2 (a) VALUES (?)', [1])
      } finally {
        await db.close()
      }
      await expect(openDatabase({ url, dataDir: '/nonexistent', migrations: [x1] })).rejects.toBeInstanceOf(
        NewerDatabaseError
      )
      const down = `postgres://postgres:pw@127.0.0.1:${server.port}/no_such_db`
      await expect(openDatabase({ url: down, dataDir: '/nonexistent' })).rejects.toThrow(/no_such_db/)
    })

    it('two instances migrating one fresh database at once both start, each step applied once', async () => {
      const steps = [1, 2, 3].map((v) => ({
        box: 'racing',
        version: v,
        name: `step ${v}`,
        sql: `CREATE TABLE racing_${v} (id TEXT PRIMARY KEY, n INTEGER); CREATE INDEX racing_${v}_n ON racing_${v} (n)`
      }))
      // a later step that alters an existing table races differently (duplicate column)
      steps.push({ box: 'racing', version: 4, name: 'step 4', sql: 'ALTER TABLE racing_1 ADD COLUMN extra TEXT' })
      for (let round = 0; round < 3; round++) {
        const url = await server.createDatabase(`migrace_${round}`)
        const a = await openPostgres(url)
        const b = await openPostgres(url)
        try {
          const [ra, rb] = await Promise.all([migrate(a, steps), migrate(b, steps)])
          expect(ra.applied.length + rb.applied.length).toBe(4)
          expect(await a.get('SELECT COUNT(*) AS n FROM schema_migrations')).toEqual({ n: 4 })
          for (const v of [1, 2, 3]) await b.run(`INSERT INTO racing_${v} (id, n) VALUES (?, ?)`, ['x', v])
        } finally {
          await a.close()
          await b.close()
        }
      }
    })

    it('the LISTEN connection comes back after the server drops it, and says so', async () => {
      let reconnects = 0
      const db = await open({ reconnectDelayMs: 50, onListenReconnect: () => reconnects++ })
      const admin = new pg.Client({ connectionString: server.url })
      await admin.connect()
      try {
        const got: string[] = []
        await db.listen('vigil_reconnect', (p) => got.push(p))
        const killed = await admin.query(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query ILIKE 'LISTEN%vigil_reconnect%'"
        )
        expect(killed.rowCount).toBe(1)
        await until(() => reconnects === 1)
        await db.notify('vigil_reconnect', 'after')
        await until(() => got.length === 1)
        expect(got).toEqual(['after'])
      } finally {
        await admin.end()
        await db.close()
      }
    })

    it('a LISTEN connection that stops answering (peer frozen, no reset) is replaced by the heartbeat', async () => {
      let reconnects = 0
      const db = await open({
        reconnectDelayMs: 50,
        listenHeartbeatMs: 100,
        listenHeartbeatTimeoutMs: 400,
        onListenReconnect: () => reconnects++
      })
      const admin = new pg.Client({ connectionString: server.url })
      await admin.connect()
      let frozen = 0
      try {
        const got: string[] = []
        await db.listen('vigil_frozen', (p) => got.push(p))
        const r = await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query ILIKE 'LISTEN%vigil_frozen%'"
        )
        expect(r.rowCount).toBe(1)
        // SIGSTOP freezes the backend: its socket stays open, as when a network path dies silently
        frozen = r.rows[0].pid
        process.kill(frozen, 'SIGSTOP')
        await until(() => reconnects === 1)
        await db.notify('vigil_frozen', 'after')
        await until(() => got.length === 1)
        expect(got).toEqual(['after'])
      } finally {
        if (frozen) process.kill(frozen, 'SIGCONT')
        await admin.end()
        await db.close()
      }
    })

    it('the pool recovers after the server crashed and restarted', async () => {
      const db = await open()
      try {
        await db.run('CREATE TABLE crash_rows (id INTEGER PRIMARY KEY)')
        await db.run('INSERT INTO crash_rows (id) VALUES (?)', [1])
        // this server runs without synchronous commits (fast tests); flush so the crash keeps the row
        await db.run('CHECKPOINT')
        await server.crash()
        await server.restart()
        // the first query may meet a connection the crash cut; the next ones get fresh ones
        let rows: unknown[] | undefined
        for (let i = 0; i < 20 && !rows; i++) {
          rows = await db.all('SELECT id FROM crash_rows').catch(() => undefined)
          if (!rows) await sleep(100)
        }
        expect(rows).toEqual([{ id: 1 }])
      } finally {
        await db.close()
      }
    })
  })
})
