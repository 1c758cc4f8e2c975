// The SqlDatabase contract (src/main/store/sql/database.ts), written once and run against every
// engine: repositories are written against the seam, so both engines must answer the same queries
// with the same rows. Each engine's test file calls sqlContract with a way to open a database.
import { describe, expect, it } from 'vitest'
import type { SqlDatabase, SqlMigration } from '../../../src/main/store/sql/database'
import { migrate, NewerDatabaseError } from '../../../src/main/store/sql/migrate'

export interface ContractTarget {
  /** opens a database; tables made by earlier tests may still be there (names are unique) */
  open(): Promise<SqlDatabase>
}

let tableSeq = 0
/** a table name no earlier test of this file used */
const table = (what: string): string => `c_${what}_${process.pid}_${++tableSeq}`

const blobType = (db: SqlDatabase): string => (db.engine === 'postgres' ? 'BYTEA' : 'BLOB')

async function withDb(target: ContractTarget, fn: (db: SqlDatabase) => Promise<void>): Promise<void> {
  const db = await target.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(5)
  }
}

export function sqlContract(engine: string, target: ContractTarget): void {
  describe(`SqlDatabase contract: ${engine}`, () => {
    it('run reports changes; all and get return rows with the selected column names', () =>
      withDb(target, async (db) => {
        const t = table('rows')
        await db.run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT)`)
        expect((await db.run(`INSERT INTO ${t} (id, n, note) VALUES (?, ?, ?)`, ['a', 1, 'x'])).changes).toBe(1)
        await db.run(`INSERT INTO ${t} (id, n, note) VALUES (?, ?, ?), (?, ?, ?)`, ['b', 2, null, 'c', 3, 'ünï ✓'])
        expect((await db.run(`UPDATE ${t} SET n = n + 10 WHERE n >= ?`, [2])).changes).toBe(2)
        expect(await db.all(`SELECT id, n, note FROM ${t} ORDER BY id`)).toEqual([
          { id: 'a', n: 1, note: 'x' },
          { id: 'b', n: 12, note: null },
          { id: 'c', n: 13, note: 'ünï ✓' }
        ])
        expect(await db.get(`SELECT id AS "theId" FROM ${t} WHERE id = ?`, ['c'])).toEqual({ theId: 'c' })
        expect(await db.get(`SELECT id FROM ${t} WHERE id = ?`, ['zz'])).toBeUndefined()
        expect((await db.run(`DELETE FROM ${t} WHERE id <> ?`, ['a'])).changes).toBe(2)
        expect((await db.run(`DELETE FROM ${t} WHERE id = ?`, ['nope'])).changes).toBe(0)
      }))

    it('get after all on the same query answers for its own parameters (libsql 0.5.29 returned the stale row)', () =>
      withDb(target, async (db) => {
        const t = table('stale')
        await db.run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
        await db.run(`INSERT INTO ${t} (id, n) VALUES (?, ?), (?, ?)`, ['a', 1, 'c', 3])
        const q = `SELECT id, n FROM ${t} WHERE id = ?`
        expect(await db.all(q, ['a'])).toEqual([{ id: 'a', n: 1 }])
        expect(await db.get(q, ['c'])).toEqual({ id: 'c', n: 3 })
        expect(await db.all(q, ['c'])).toEqual([{ id: 'c', n: 3 }])
        expect(await db.get(q, ['a'])).toEqual({ id: 'a', n: 1 })
        expect(await db.get(q, ['zz'])).toBeUndefined()
      }))

    it('a ? inside a string literal, a quoted identifier or a comment is not a placeholder', () =>
      withDb(target, async (db) => {
        const row = await db.get(
          `SELECT 'why?' AS "what?", ? AS v -- really?
           /* or? */`,
          ['yes']
        )
        expect(row).toEqual({ 'what?': 'why?', v: 'yes' })
      }))

    it('a placeholder/parameter count mismatch rejects instead of binding the wrong values', () =>
      withDb(target, async (db) => {
        await expect(db.get('SELECT ? AS a, ? AS b', ['only one'])).rejects.toThrow()
      }))

    it('counts, sums and millisecond timestamps are numbers', () =>
      withDb(target, async (db) => {
        const t = table('nums')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, at BIGINT NOT NULL, score DOUBLE PRECISION)`)
        const at = 1_750_000_123_456
        for (let i = 1; i <= 5; i++)
          await db.run(`INSERT INTO ${t} (id, at, score) VALUES (?, ?, ?)`, [i, at + i, i / 8])
        const agg = await db.get<{ n: unknown; total: unknown; newest: unknown; mean: unknown }>(
          `SELECT COUNT(*) AS n, SUM(at) AS total, MAX(at) AS newest, AVG(score) AS mean FROM ${t}`
        )
        expect(agg).toEqual({ n: 5, total: 5 * at + 15, newest: at + 5, mean: 3 / 8 })
      }))

    it('booleans are stored as 1/0 in an integer column', () =>
      withDb(target, async (db) => {
        const t = table('bools')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, flag INTEGER NOT NULL)`)
        await db.run(`INSERT INTO ${t} (id, flag) VALUES (?, ?), (?, ?)`, [1, true, 2, false])
        expect(await db.all(`SELECT id, flag FROM ${t} WHERE flag = ? ORDER BY id`, [true])).toEqual([
          { id: 1, flag: 1 }
        ])
      }))

    it('embeddings travel as bytes: a float32 vector comes back bit-identical as a Uint8Array', () =>
      withDb(target, async (db) => {
        const t = table('blobs')
        await db.run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, emb ${blobType(db)} NOT NULL)`)
        const vec = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i) / (i + 1))
        vec[3] = -0
        vec[7] = Number.MIN_VALUE
        const bytes = new Uint8Array(vec.buffer)
        await db.run(`INSERT INTO ${t} (id, emb) VALUES (?, ?)`, ['p1', bytes])
        await db.run(`INSERT INTO ${t} (id, emb) VALUES (?, ?)`, ['empty', new Uint8Array(0)])
        for (const read of [
          async () => (await db.get<{ emb: unknown }>(`SELECT emb FROM ${t} WHERE id = ?`, ['p1']))!.emb,
          async () => (await db.all<{ emb: unknown }>(`SELECT emb FROM ${t} WHERE id = ?`, ['p1']))[0].emb
        ]) {
          const emb = await read()
          expect(emb).toBeInstanceOf(Uint8Array)
          const u8 = emb as Uint8Array
          expect(u8.byteLength).toBe(512 * 4)
          expect(Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).equals(Buffer.from(bytes))).toBe(true)
        }
        const empty = await db.get<{ emb: unknown }>(`SELECT emb FROM ${t} WHERE id = ?`, ['empty'])
        expect((empty!.emb as Uint8Array).byteLength).toBe(0)
      }))

    it('a constraint violation rejects and keeps what was stored', () =>
      withDb(target, async (db) => {
        const t = table('uniq')
        await db.run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, v INTEGER)`)
        await db.run(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, ['a', 1])
        await expect(db.run(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, ['a', 2])).rejects.toThrow()
        expect(await db.all(`SELECT id, v FROM ${t}`)).toEqual([{ id: 'a', v: 1 }])
      }))

    it('transaction commits when fn resolves and returns its value', () =>
      withDb(target, async (db) => {
        const t = table('txok')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)`)
        const r = await db.transaction(async (tx) => {
          expect(tx.engine).toBe(db.engine)
          await tx.run(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, [1, 'one'])
          await tx.run(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, [2, 'two'])
          return (await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`))!.n
        })
        expect(r).toBe(2)
        expect(await db.get(`SELECT COUNT(*) AS n FROM ${t}`)).toEqual({ n: 2 })
      }))

    it('transaction rolls everything back when fn throws, and rethrows that error', () =>
      withDb(target, async (db) => {
        const t = table('txfail')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`)
        await db.run(`INSERT INTO ${t} (id) VALUES (?)`, [1])
        const boom = new Error('boom')
        await expect(
          db.transaction(async (tx) => {
            await tx.run(`INSERT INTO ${t} (id) VALUES (?)`, [2])
            await tx.run(`DELETE FROM ${t} WHERE id = ?`, [1])
            throw boom
          })
        ).rejects.toBe(boom)
        // a failing statement inside rolls back too
        await expect(
          db.transaction(async (tx) => {
            await tx.run(`INSERT INTO ${t} (id) VALUES (?)`, [3])
            await tx.run(`INSERT INTO ${t} (id) VALUES (?)`, [1])
          })
        ).rejects.toThrow()
        expect(await db.all(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }])
      }))

    it('uncommitted writes are invisible outside the transaction', () =>
      withDb(target, async (db) => {
        const t = table('iso')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`)
        let release!: () => void
        const gate = new Promise<void>((r) => (release = r))
        let inserted!: () => void
        const didInsert = new Promise<void>((r) => (inserted = r))
        const tx = db.transaction(async (x) => {
          await x.run(`INSERT INTO ${t} (id) VALUES (?)`, [1])
          inserted()
          await gate
        })
        await didInsert
        // SQLite holds this read until the transaction ends, PostgreSQL answers from the last
        // commit: either way it never sees the open transaction's row.
        const outside = db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`)
        const seen = await Promise.race([outside, sleep(200).then(() => 'waiting' as const)])
        if (seen !== 'waiting') expect(seen).toEqual({ n: 0 })
        release()
        await tx
        await outside
        expect(await db.get(`SELECT COUNT(*) AS n FROM ${t}`)).toEqual({ n: 1 })
      }))

    it('using the database directly, or nesting transaction(), inside a transaction rejects instead of hanging', () =>
      withDb(target, async (db) => {
        const t = table('nest')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`)
        await expect(
          db.transaction(async (tx) => {
            await tx.run(`INSERT INTO ${t} (id) VALUES (?)`, [1])
            await db.get(`SELECT id FROM ${t}`)
          })
        ).rejects.toThrow(/inside .*transaction/)
        await expect(db.transaction(async () => db.transaction(async () => 1))).rejects.toThrow(/inside a transaction/)
        expect(await db.all(`SELECT id FROM ${t}`)).toEqual([])
      }))

    it('a tx that escapes its callback cannot write after the transaction ended', () =>
      withDb(target, async (db) => {
        const t = table('escape')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`)
        const leaked = await db.transaction(async (tx) => tx)
        await expect(leaked.run(`INSERT INTO ${t} (id) VALUES (?)`, [1])).rejects.toThrow(/ended/)
        expect(await db.all(`SELECT id FROM ${t}`)).toEqual([])
      }))

    it('concurrent read-check-write transactions never lose an update', () =>
      withDb(target, async (db) => {
        const t = table('counter')
        await db.run(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`)
        await db.run(`INSERT INTO ${t} (id, n) VALUES (?, ?)`, [1, 0])
        const workers = 12
        await Promise.all(
          Array.from({ length: workers }, () =>
            db.transaction(async (tx) => {
              const row = await tx.get<{ n: number }>(`SELECT n FROM ${t} WHERE id = ?`, [1])
              await sleep(2)
              await tx.run(`UPDATE ${t} SET n = ? WHERE id = ?`, [row!.n + 1, 1])
            })
          )
        )
        expect(await db.get(`SELECT n FROM ${t} WHERE id = ?`, [1])).toEqual({ n: workers })
      }))

    it('notify reaches every listener of the channel, only that channel, until unlisten', () =>
      withDb(target, async (db) => {
        const a: string[] = []
        const b: string[] = []
        const other: string[] = []
        const stopA = await db.listen('vigil_contract', (p) => a.push(p))
        const stopB = await db.listen('vigil_contract', (p) => b.push(p))
        const stopOther = await db.listen('vigil_contract_other', (p) => other.push(p))
        await db.notify('vigil_contract', '{"id":"p1"}')
        await until(() => a.length === 1 && b.length === 1)
        expect(a).toEqual(['{"id":"p1"}'])
        await stopA()
        await db.notify('vigil_contract', 'second')
        await until(() => b.length === 2)
        await sleep(100)
        expect(a).toEqual(['{"id":"p1"}'])
        expect(b).toEqual(['{"id":"p1"}', 'second'])
        expect(other).toEqual([])
        await stopB()
        await stopOther()
      }))

    it('a listener that throws does not stop the others', () =>
      withDb(target, async (db) => {
        const got: string[] = []
        await db.listen('vigil_contract_throw', () => {
          throw new Error('listener bug')
        })
        await db.listen('vigil_contract_throw', (p) => got.push(p))
        await db.notify('vigil_contract_throw', 'x')
        await until(() => got.length === 1)
      }))

    it('calls after close reject with a clear error; close twice is harmless', async () => {
      const db = await target.open()
      await db.close()
      await db.close()
      await expect(db.get('SELECT 1 AS x')).rejects.toThrow(/closed/)
      await expect(db.transaction(async () => 1)).rejects.toThrow(/closed/)
    })

    describe('migrations', () => {
      const steps = (box: string, t: string): SqlMigration[] => [
        {
          box,
          version: 1,
          name: 'create',
          sql: `CREATE TABLE ${t} (id TEXT PRIMARY KEY, added_at BIGINT NOT NULL); CREATE INDEX ${t}_added ON ${t} (added_at)`
        },
        {
          box,
          version: 2,
          name: 'add size',
          sql: {
            sqlite: `ALTER TABLE ${t} ADD COLUMN size REAL`,
            postgres: `ALTER TABLE ${t} ADD COLUMN size DOUBLE PRECISION`
          }
        }
      ]

      it('apply each step once, per engine where the dialects differ, and record it', () =>
        withDb(target, async (db) => {
          const t = table('mig')
          const box = t.replace(/_/g, '-')
          const first = await migrate(db, steps(box, t))
          expect(first.applied.map((a) => a.version)).toEqual([1, 2])
          expect((await migrate(db, steps(box, t))).applied).toEqual([])
          await db.run(`INSERT INTO ${t} (id, added_at, size) VALUES (?, ?, ?)`, ['a', 1_750_000_000_000, 2.5])
          expect(
            await db.all(`SELECT version, name FROM schema_migrations WHERE box = ? ORDER BY version`, [box])
          ).toEqual([
            { version: 1, name: 'create' },
            { version: 2, name: 'add size' }
          ])
        }))

      it('a failing step leaves the previous version intact', () =>
        withDb(target, async (db) => {
          const t = table('migfail')
          const box = t.replace(/_/g, '-')
          const [v1] = steps(box, t)
          await migrate(db, [v1])
          const bad: SqlMigration = {
            box,
            version: 2,
            name: 'broken',
            sql: `ALTER TABLE ${t} ADD COLUMN size REAL; THIS IS NOT SQL`
          }
          await expect(migrate(db, [v1, bad])).rejects.toThrow()
          await expect(db.run(`INSERT INTO ${t} (id, added_at, size) VALUES (?, ?, ?)`, ['a', 1, 1])).rejects.toThrow()
          expect(await db.get('SELECT MAX(version) AS v FROM schema_migrations WHERE box = ?', [box])).toEqual({ v: 1 })
        }))

      it('a database written by a newer build is refused before anything is applied', () =>
        withDb(target, async (db) => {
          const t = table('mignew')
          const box = t.replace(/_/g, '-')
          await migrate(db, steps(box, t))
          await expect(migrate(db, steps(box, t).slice(0, 1))).rejects.toBeInstanceOf(NewerDatabaseError)
        }))
    })
  })
}
