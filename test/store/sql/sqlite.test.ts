// The embedded engine and the migration runner on real SQLite files in a temp dir.
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SqlDatabase, SqlMigration } from '../../../src/main/store/sql/database'
import { NewerDatabaseError, migrate, planMigrations, splitStatements } from '../../../src/main/store/sql/migrate'
import { openDatabase, redactDbUrl, sqlitePath, SQLITE_FILE } from '../../../src/main/store/sql/open'
import { SqliteDatabase, normaliseRow, toSqliteParam } from '../../../src/main/store/sql/sqlite'
import { tempDir } from '../helpers'

let dir: string
let cleanup: () => Promise<void>
const opened: SqlDatabase[] = []

async function openIn(sub = 'data'): Promise<SqliteDatabase> {
  const db = await SqliteDatabase.open(join(dir, sub, SQLITE_FILE))
  opened.push(db)
  return db
}

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-sql-'))
})
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close()
  await cleanup()
})

describe('SqliteDatabase', () => {
  it('creates the dir 0700 and the file 0600, in WAL mode', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (a INTEGER)')
    await db.run('INSERT INTO t (a) VALUES (?)', [1])
    expect((await stat(join(dir, 'data'))).mode & 0o777).toBe(0o700)
    expect((await stat(db.file)).mode & 0o777).toBe(0o600)
    expect((await stat(`${db.file}-wal`)).mode & 0o777).toBe(0o600)
    expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' })
  })

  it('round-trips text, numbers, booleans and float32 BLOBs; rows carry no extra keys', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (id TEXT PRIMARY KEY, n REAL, b INTEGER, v BLOB)')
    const vec = new Float32Array([0.5, -1.25, 3])
    await db.run('INSERT INTO t VALUES (?, ?, ?, ?)', ['a', 1.5, true, new Uint8Array(vec.buffer)])
    await db.run('INSERT INTO t VALUES (?, ?, ?, ?)', ['b', 2, false, null])
    const one = await db.get<{ id: string; n: number; b: number; v: Uint8Array }>('SELECT * FROM t WHERE id = ?', ['a'])
    expect(Object.keys(one ?? {})).toEqual(['id', 'n', 'b', 'v'])
    expect(one?.v).toBeInstanceOf(Uint8Array)
    const back = new Float32Array(one!.v.buffer.slice(one!.v.byteOffset, one!.v.byteOffset + one!.v.byteLength))
    expect([...back]).toEqual([0.5, -1.25, 3])
    const all = await db.all<{ id: string; b: number; v: Uint8Array | null }>('SELECT * FROM t ORDER BY id')
    expect(all.map((r) => [r.id, r.b])).toEqual([
      ['a', 1],
      ['b', 0]
    ])
    expect(all[0].v).toBeInstanceOf(Uint8Array)
    expect(await db.get('SELECT * FROM t WHERE id = ?', ['zz'])).toBeUndefined()
    expect((await db.run('UPDATE t SET n = n + 1')).changes).toBe(2)
  })

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (a INTEGER PRIMARY KEY)')
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (?)', [1])
      await tx.run('INSERT INTO t VALUES (?)', [2])
    })
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (?)', [3])
        await tx.run('INSERT INTO t VALUES (?)', [1]) // primary key clash
      })
    ).rejects.toThrow(/UNIQUE/)
    expect(await db.all('SELECT a FROM t ORDER BY a')).toEqual([{ a: 1 }, { a: 2 }])
  })

  it('makes other calls wait while a transaction is open, so they never see half of it', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (a INTEGER)')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const order: string[] = []
    const txDone = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)')
      await gate
      await tx.run('INSERT INTO t VALUES (2)')
      order.push('tx')
    })
    const read = db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t').then((r) => {
      order.push('read')
      return r?.n
    })
    const second = db.transaction(async (tx) => {
      order.push('tx2')
      return (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))?.n
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(order).toEqual([])
    release()
    await txDone
    expect(await read).toBe(2)
    expect(await second).toBe(2)
    expect(order).toEqual(['tx', 'read', 'tx2'])
  })

  it('turns a call on the database from inside its own transaction into an error instead of a hang', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (a INTEGER)')
    await expect(db.transaction(async () => db.run('INSERT INTO t VALUES (1)'))).rejects.toThrow(/use the tx/)
    await expect(db.transaction(async () => db.transaction(async () => 1))).rejects.toThrow(/inside a transaction/)
    // a timer started inside a transaction may use the database after it ended
    const later: Promise<unknown>[] = []
    await db.transaction(async () => {
      later.push(new Promise((r) => setTimeout(r, 5)).then(() => db.run('INSERT INTO t VALUES (7)')))
    })
    await Promise.all(later)
    expect(await db.get('SELECT a FROM t')).toEqual({ a: 7 })
  })

  it('delivers notifications to listeners of the channel until they unlisten', async () => {
    const db = await openIn()
    const got: string[] = []
    const stop = await db.listen('gallery', (p) => got.push(p))
    await db.listen('other', (p) => got.push(`other:${p}`))
    await db.notify('gallery', 'p-1')
    await new Promise((r) => setImmediate(r))
    await stop()
    await db.notify('gallery', 'p-2')
    await new Promise((r) => setImmediate(r))
    expect(got).toEqual(['p-1'])
  })

  it('keeps committed rows across close and reopen; rejects calls after close', async () => {
    const db = await openIn()
    await db.run('CREATE TABLE t (a INTEGER)')
    await db.run('INSERT INTO t VALUES (?)', [42])
    await db.close()
    await expect(db.run('SELECT 1')).rejects.toThrow(/closed/)
    const again = await openIn()
    expect(await again.get('SELECT a FROM t')).toEqual({ a: 42 })
  })

  it('converts values the binding cannot take', () => {
    expect(toSqliteParam(true)).toBe(1)
    expect(toSqliteParam(false)).toBe(0)
    expect(toSqliteParam('x')).toBe('x')
    const r = normaliseRow({ a: 1, b: new Uint8Array([1, 2]).buffer, _metadata: { duration: 1 } })
    expect(r).toEqual({ a: 1, b: new Uint8Array([1, 2]) })
  })
})

describe('migrations', () => {
  const v1: SqlMigration = {
    box: 'things',
    version: 1,
    name: 'create things',
    sql: 'CREATE TABLE things (id TEXT PRIMARY KEY); CREATE INDEX things_id ON things (id)'
  }
  const v2: SqlMigration = {
    box: 'things',
    version: 2,
    name: 'add size',
    sql: {
      sqlite: 'ALTER TABLE things ADD COLUMN size REAL',
      postgres: 'ALTER TABLE things ADD COLUMN size DOUBLE PRECISION'
    }
  }
  const other: SqlMigration = { box: 'other', version: 1, name: 'create other', sql: 'CREATE TABLE other (x INTEGER)' }

  it('applies each box in order once and records it', async () => {
    const db = await openIn()
    const r1 = await migrate(db, [v2, other, v1])
    expect(r1.applied.map((a) => `${a.box}@${a.version}`)).toEqual(['things@1', 'things@2', 'other@1'])
    const r2 = await migrate(db, [v1, v2, other])
    expect(r2.applied).toEqual([])
    await db.run('INSERT INTO things (id, size) VALUES (?, ?)', ['a', 2.5])
    const rows = await db.all('SELECT box, version, name FROM schema_migrations ORDER BY box, version')
    expect(rows).toEqual([
      { box: 'other', version: 1, name: 'create other' },
      { box: 'things', version: 1, name: 'create things' },
      { box: 'things', version: 2, name: 'add size' }
    ])
  })

  it('leaves the previous version intact when a step fails', async () => {
    const db = await openIn()
    await migrate(db, [v1])
    const bad: SqlMigration = {
      box: 'things',
      version: 2,
      name: 'broken',
      sql: 'ALTER TABLE things ADD COLUMN size REAL; THIS IS NOT SQL'
    }
    await expect(migrate(db, [v1, bad])).rejects.toThrow()
    const cols = await db.all<{ name: string }>('PRAGMA table_info(things)')
    expect(cols.map((c) => c.name)).toEqual(['id'])
    expect(await db.get('SELECT MAX(version) AS v FROM schema_migrations WHERE box = ?', ['things'])).toEqual({ v: 1 })
  })

  it('refuses a database written by a newer build, naming the box and versions', async () => {
    const db = await openIn()
    await migrate(db, [v1, v2])
    const err = await migrate(db, [v1]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NewerDatabaseError)
    expect(String(err)).toMatch(/version 2 of "things".*only up to 1.*newer Vigil/)
  })

  it('rejects gaps and repeats in a box sequence', () => {
    expect(() => planMigrations([v2])).toThrow(/numbered 1, 2, 3/)
    expect(() => planMigrations([v1, v1])).toThrow(/numbered/)
    expect(
      planMigrations([v2, v1])
        .get('things')
        ?.map((m) => m.version)
    ).toEqual([1, 2])
  })

  it('splits scripts at semicolons outside quotes and comments', () => {
    expect(
      splitStatements("CREATE TABLE a (x TEXT DEFAULT ';'); -- c;\nINSERT INTO a VALUES ('it''s; ok') ; /* ; */ ")
    ).toEqual(["CREATE TABLE a (x TEXT DEFAULT ';')", "INSERT INTO a VALUES ('it''s; ok')"])
    expect(splitStatements('  ;; ')).toEqual([])
  })
})

describe('openDatabase', () => {
  it('opens vigil.db in the data dir by default and migrates it', async () => {
    const db = await openDatabase({
      dataDir: join(dir, 'd'),
      migrations: [{ box: 'x', version: 1, name: 'x', sql: 'CREATE TABLE x (a INTEGER)' }]
    })
    opened.push(db)
    expect(db.engine).toBe('sqlite')
    await db.run('INSERT INTO x VALUES (1)')
    expect((await stat(join(dir, 'd', SQLITE_FILE))).isFile()).toBe(true)
  })

  it('refuses (and closes) a database newer than the app', async () => {
    const dataDir = join(dir, 'd')
    const x1: SqlMigration = { box: 'x', version: 1, name: 'x', sql: 'CREATE TABLE x (a INTEGER)' }
    const x2: SqlMigration = { box: 'x', version: 2, name: 'x2', sql: 'CREATE TABLE x2 (a INTEGER)' }
    await (await openDatabase({ dataDir, migrations: [x1, x2] })).close()
    await expect(openDatabase({ dataDir, migrations: [x1] })).rejects.toBeInstanceOf(NewerDatabaseError)
    // closed on refusal: the same file opens again at once
    const again = await openDatabase({ dataDir, migrations: [x1, x2] })
    opened.push(again)
    expect(await again.get('SELECT COUNT(*) AS n FROM x2')).toEqual({ n: 0 })
  })

  it('resolves file paths and hides passwords in URLs', () => {
    expect(sqlitePath({ dataDir: '/d' })).toBe('/d/vigil.db')
    expect(sqlitePath({ dataDir: '/d', url: 'other.db' })).toBe('/d/other.db')
    expect(sqlitePath({ dataDir: '/d', url: 'file:/x/y.db' })).toBe('/x/y.db')
    expect(redactDbUrl('postgres://vigil:s3cret@127.0.0.1:5432/vigil')).toBe(
      'postgres://vigil:***@127.0.0.1:5432/vigil'
    )
  })
})
