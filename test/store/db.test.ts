import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { Store, type StoreOptions } from '../../src/main/store/db'
import { realFsOps, type DurableFsOps } from '../../src/main/store/durable-file'
import { LOCK_NAME } from '../../src/main/store/lock'
import { NewerSchemaError, upgrade, InvalidDbError } from '../../src/main/store/migrations'
import { emptyDb } from '../../src/main/store/schema'
import { recordingLogger, sampleEvent, tempDir } from './helpers'

let dir: string
let cleanup: () => Promise<void>
const opened: Store[] = []

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
  await cleanup()
})

async function openStore(opts: StoreOptions = {}): Promise<Store> {
  const s = await Store.open(dir, { logger: recordingLogger(), ...opts })
  opened.push(s)
  return s
}

/** A store whose durable writes are counted (from zero after opening). */
async function countingStore(): Promise<{ store: Store; writes: { count: number } }> {
  const writes = { count: 0 }
  const store = await openStore({
    fsOps: {
      writeSynced: async (p, t) => {
        writes.count++
        await realFsOps.writeSynced(p, t)
      }
    }
  })
  writes.count = 0
  return { store, writes }
}

const dbPath = (): string => join(dir, 'db.json')
const onDisk = (): ReturnType<typeof emptyDb> =>
  JSON.parse(readFileSync(dbPath(), 'utf8')) as ReturnType<typeof emptyDb>

describe('Store: open and write', () => {
  it('creates an empty db on first open and persists mutations', async () => {
    const s = await openStore()
    expect(s.opened.kind).toBe('created')
    expect(onDisk().schemaVersion).toBe(1)
    const n = await s.mutate((d) => d.events.push(sampleEvent({ id: 'a' })))
    expect(n).toBe(1)
    await s.close()
    const again = await openStore()
    expect(again.opened).toEqual({ kind: 'loaded', fromVersion: 1 })
    expect(again.data.events.map((e) => e.id)).toEqual(['a'])
  })

  it('fsyncs the temp file before renaming it over db.json, then fsyncs the directory', async () => {
    const steps: string[] = []
    const ops: DurableFsOps = {
      writeSynced: async (p, t) => {
        steps.push(`write ${p.endsWith('.db.json.tmp') ? 'tmp' : p}`)
        await realFsOps.writeSynced(p, t)
      },
      rename: async (a, b) => {
        steps.push(`rename ${a.endsWith('.tmp') ? 'tmp' : basename(a)} -> ${basename(b)}`)
        await realFsOps.rename(a, b)
      },
      link: realFsOps.link,
      unlink: realFsOps.unlink,
      syncDir: async (d) => {
        steps.push(`syncDir ${d === dir ? 'dataDir' : d}`)
        await realFsOps.syncDir(d)
      }
    }
    const s = await openStore({ fsOps: ops })
    steps.length = 0
    await s.mutate((d) => d.events.push(sampleEvent()))
    // the backup is replaced by a rename (never deleted first), then the new file takes its place
    expect(steps).toEqual([
      'write tmp',
      'rename db.json.bak.next -> db.json.bak',
      'rename tmp -> db.json',
      'syncDir dataDir'
    ])

    // and the real writeSynced really calls fsync: spy on FileHandle.prototype.sync
    const probe = await open(join(dir, 'probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> }
    await probe.close()
    const spy = vi.spyOn(proto, 'sync')
    try {
      await s.mutate((d) => d.events.push(sampleEvent()))
      // once for the temp file, once for the directory
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(2)
    } finally {
      spy.mockRestore()
    }
  })

  it('a write that dies before the rename leaves the previous db.json intact', async () => {
    let failRename = false
    let failMidWrite = false
    const ops: Partial<DurableFsOps> = {
      writeSynced: async (p, t) => {
        if (failMidWrite) {
          await writeFile(p, t.slice(0, Math.floor(t.length / 2)))
          throw new Error('simulated crash while writing')
        }
        await realFsOps.writeSynced(p, t)
      },
      rename: async (a, b) => {
        if (failRename) throw new Error('simulated crash before rename')
        await realFsOps.rename(a, b)
      }
    }
    const s = await openStore({ fsOps: ops })
    await s.mutate((d) => d.events.push(sampleEvent({ id: 'kept' })))
    const before = readFileSync(dbPath(), 'utf8')

    failRename = true
    await expect(s.mutate((d) => d.events.push(sampleEvent({ id: 'lost-1' })))).rejects.toThrow(/before rename/)
    expect(readFileSync(dbPath(), 'utf8')).toBe(before)
    failRename = false
    failMidWrite = true
    await expect(s.mutate((d) => d.events.push(sampleEvent({ id: 'lost-2' })))).rejects.toThrow(/while writing/)
    expect(readFileSync(dbPath(), 'utf8')).toBe(before)
    expect(existsSync(join(dir, '.db.json.tmp'))).toBe(true)

    // simulate the process dying here: reopen without closing (close would flush)
    await s['releaseLock']?.()
    const logger = recordingLogger()
    const again = await Store.open(dir, { logger })
    opened.push(again)
    expect(again.opened.kind).toBe('loaded')
    expect(again.data.events.map((e) => e.id)).toEqual(['kept'])
    expect(existsSync(join(dir, '.db.json.tmp'))).toBe(false)
    expect(logger.errors).toEqual([])
  })

  it('coalesces concurrent writes, and each caller resolves after a write that contains its change', async () => {
    const { store: s, writes } = await countingStore()
    const seenOnDisk: boolean[] = []
    const calls = Array.from({ length: 50 }, (_, i) =>
      s
        .mutate((d) => d.events.push(sampleEvent({ id: `c${i}` })))
        .then(() => seenOnDisk.push(onDisk().events.some((e) => e.id === `c${i}`)))
    )
    await Promise.all(calls)
    expect(seenOnDisk).toHaveLength(50)
    expect(seenOnDisk.every(Boolean)).toBe(true)
    // mutations run one at a time, each on a copy written before it replaces the data
    expect(writes.count).toBe(50)

    // plain write() calls coalesce: a change made while the queued write waits is still included
    writes.count = 0
    const p1 = s.write()
    s.data.events.push(sampleEvent({ id: 'x1' }))
    const p2 = s.write()
    s.data.events.push(sampleEvent({ id: 'x2' }))
    const p3 = s.write()
    expect(p3).toBe(p2)
    await Promise.all([p1, p2, p3])
    expect(
      onDisk()
        .events.slice(-2)
        .map((e) => e.id)
    ).toEqual(['x1', 'x2'])
    expect(writes.count).toBe(2)
  })

  it('writeSoon batches many calls into one write and close() flushes it', async () => {
    const { store: s, writes } = await countingStore()
    const ps = Array.from({ length: 20 }, (_, i) => {
      s.data.events.push(sampleEvent({ id: `s${i}` }))
      return s.writeSoon(20)
    })
    await Promise.all(ps)
    expect(writes.count).toBe(1)
    expect(onDisk().events).toHaveLength(20)

    s.data.events.push(sampleEvent({ id: 'late' }))
    void s.writeSoon(60_000)
    await s.close()
    expect(onDisk().events.at(-1)?.id).toBe('late')
    await expect(s.write()).rejects.toThrow(/closed/)
  })
})

describe('Store: damaged and foreign files', () => {
  it('moves a corrupt db.json aside, keeps its bytes, and starts empty when there is no backup', async () => {
    await mkdir(dir, { recursive: true })
    const garbage = '{"schemaVersion":1,"people":[{"id":"p1"'
    await writeFile(dbPath(), garbage)
    const logger = recordingLogger()
    const s = await Store.open(dir, { logger })
    opened.push(s)
    expect(s.opened.kind).toBe('reset-empty')
    expect(s.data.events).toEqual([])
    const aside = (await readdir(dir)).filter((f) => f.startsWith('db.json.corrupt-'))
    expect(aside).toHaveLength(1)
    expect(await readFile(join(dir, aside[0]), 'utf8')).toBe(garbage)
    expect(logger.errors.join('\n')).toMatch(/corrupt.*moved it to/)
    expect(logger.errors.join('\n')).toMatch(/EMPTY/)
    // the fresh db is valid on disk
    expect(onDisk().schemaVersion).toBe(1)
  })

  it('recovers the previous version from db.json.bak when db.json is corrupt', async () => {
    const s = await openStore()
    await s.mutate((d) => d.events.push(sampleEvent({ id: 'first' })))
    await s.mutate((d) => d.events.push(sampleEvent({ id: 'second' })))
    await s.close()
    opened.length = 0
    await writeFile(dbPath(), '\u0000\u0000\u0000')
    const logger = recordingLogger()
    const again = await Store.open(dir, { logger })
    opened.push(again)
    expect(again.opened.kind).toBe('recovered-from-backup')
    expect(again.data.events.map((e) => e.id)).toEqual(['first'])
    expect((await readdir(dir)).some((f) => f.startsWith('db.json.corrupt-'))).toBe(true)
    expect(logger.errors.join('\n')).toMatch(/restored the last complete version from .*db\.json\.bak/)
  })

  it.each([
    ['an empty file', ''],
    ['a JSON array', '[1,2,3]'],
    ['no schemaVersion', '{"events":[]}'],
    ['events that is not an array', '{"schemaVersion":1,"events":{}}']
  ])('treats %s as corrupt and moves it aside', async (_label, content) => {
    await writeFile(dbPath(), content)
    const s = await openStore()
    expect(s.opened.kind).toBe('reset-empty')
    const aside = (await readdir(dir)).filter((f) => f.startsWith('db.json.corrupt-'))
    expect(aside).toHaveLength(1)
    expect(await readFile(join(dir, aside[0]), 'utf8')).toBe(content)
  })

  it('refuses a db from a newer schemaVersion and leaves it untouched', async () => {
    const newer = JSON.stringify({ ...emptyDb(), schemaVersion: 7, futureThing: [1] })
    await writeFile(dbPath(), newer)
    const err = await Store.open(dir, { logger: recordingLogger() }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NewerSchemaError)
    expect((err as Error).message).toMatch(/schemaVersion 7.*up to 1.*Refusing/)
    expect(readFileSync(dbPath(), 'utf8')).toBe(newer)
    expect(await readdir(dir)).not.toContain(LOCK_NAME)
    expect((await readdir(dir)).filter((f) => f.startsWith('db.json.'))).toEqual([])
  })

  it('refuses to start when db.json cannot be read, without moving or replacing it', async () => {
    await mkdir(dbPath())
    await expect(Store.open(dir, { logger: recordingLogger() })).rejects.toThrow(
      /cannot read .*db\.json.*Not starting with an empty database/
    )
    expect((await readdir(dir)).filter((f) => f.startsWith('db.json.'))).toEqual([])
  })

  it('restores from the backup when db.json was deleted', async () => {
    const s = await openStore()
    await s.mutate((d) => d.events.push(sampleEvent({ id: 'one' })))
    await s.mutate((d) => d.events.push(sampleEvent({ id: 'two' })))
    await s.close()
    opened.length = 0
    await (await import('node:fs/promises')).unlink(dbPath())
    const again = await openStore()
    expect(again.opened.kind).toBe('recovered-from-backup')
    expect(again.data.events.map((e) => e.id)).toEqual(['one'])
  })

  it('fills collections missing from an older file and keeps fields it does not know', async () => {
    await writeFile(
      dbPath(),
      JSON.stringify({
        schemaVersion: 1,
        events: [sampleEvent({ id: 'e' })],
        settings: { retentionDays: 7 },
        extra: 'x'
      })
    )
    const s = await openStore()
    expect(s.data.people).toEqual([])
    expect(s.data.rejections).toEqual([])
    expect(s.data.settings.retentionDays).toBe(7)
    expect(s.data.settings.thresholds).toEqual(emptyDb().settings.thresholds)
    await s.write()
    expect((onDisk() as unknown as { extra: string }).extra).toBe('x')
  })
})

describe('Store: migrations hook', () => {
  it('upgrade() chains migrations and checks every step', () => {
    const migrations = {
      1: (d: Record<string, unknown>) => ({ ...d, schemaVersion: 2, tags: [] }),
      2: (d: Record<string, unknown>) => ({ ...d, schemaVersion: 3, tags: ['v3'] })
    }
    const { data, fromVersion } = upgrade({ ...emptyDb() }, 'db.json', migrations, 3)
    expect(fromVersion).toBe(1)
    expect(data.schemaVersion).toBe(3)
    expect((data as unknown as { tags: string[] }).tags).toEqual(['v3'])
    expect(() => upgrade({ ...emptyDb() }, 'db.json', { 1: (d) => ({ ...d }) }, 2)).toThrow(
      /did not produce schemaVersion 2/
    )
    expect(() => upgrade({ ...emptyDb() }, 'db.json', {}, 2)).toThrow(/no migration registered from schemaVersion 1/)
    expect(() => upgrade({ schemaVersion: 'x' })).toThrow(InvalidDbError)
  })

  it('Store.open migrates, writes the new version and keeps the original file', async () => {
    const original = JSON.stringify({ ...emptyDb(), events: [sampleEvent({ id: 'm' })] })
    await writeFile(dbPath(), original)
    const logger = recordingLogger()
    const s = await openStore({ logger, migrations: { 1: (d) => ({ ...d, schemaVersion: 2 }) }, targetVersion: 2 })
    expect(s.opened).toEqual({ kind: 'loaded', fromVersion: 1 })
    expect((onDisk() as { schemaVersion: number }).schemaVersion).toBe(2)
    const kept = (await readdir(dir)).filter((f) => f.startsWith('db.json.pre-v2-'))
    expect(kept).toHaveLength(1)
    expect(await readFile(join(dir, kept[0]), 'utf8')).toBe(original)
    expect(logger.warns.join('\n')).toMatch(/migrated/)
  })
})

describe('Store: one process per data dir', () => {
  it('refuses a dir locked by another live process and takes over a dead one', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' })
    try {
      await writeFile(
        join(dir, LOCK_NAME),
        JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), at: Date.now() })
      )
      const err = await Store.open(dir, { logger: recordingLogger() }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).code).toBe('busy')
      expect((err as Error).message).toContain(`process ${child.pid}`)
    } finally {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
    const s = await openStore()
    expect(s.opened.kind).toBe('created')
    await s.close()
    expect(existsSync(join(dir, LOCK_NAME))).toBe(false)
  })
})

describe('Store: write cost with a large history', () => {
  it('writes 10 000 events quickly', async () => {
    const s = await openStore()
    for (let i = 0; i < 10_000; i++)
      s.data.events.push(sampleEvent({ id: `big-${i}`, startedAt: 1_750_000_000_000 + i * 1000 }))
    await s.write() // warm-up
    const times: number[] = []
    for (let i = 0; i < 5; i++) {
      s.data.events[i].score = i / 10
      const t0 = performance.now()
      await s.write()
      times.push(performance.now() - t0)
    }
    const bytes = readFileSync(dbPath()).length
    await s.close()
    opened.length = 0
    const t0 = performance.now()
    const again = await openStore()
    const loadMs = performance.now() - t0
    expect(again.data.events).toHaveLength(10_000)
    times.sort((a, b) => a - b)
    console.log(
      `[store] 10 000 events: db.json ${(bytes / 1e6).toFixed(2)} MB, write median ${times[2].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)}), open+parse ${loadMs.toFixed(1)} ms`
    )
    expect(times[2]).toBeLessThan(1500)
  })
})
