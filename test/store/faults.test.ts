// The faults of issue #8 that were found by trying, each reproduced on real files: a failed write
// never stays applied in memory, crash recovery never deletes the last good copy, a partly corrupt
// record does not stop startup, and the data dir is private.
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CameraService } from '../../src/main/cameras/service'
import { Store } from '../../src/main/store/db'
import { realFsOps, type DurableFsOps } from '../../src/main/store/durable-file'
import { importLegacyDb } from '../../src/main/store/import-legacy'
import { SETTINGS_CODEC, type SettingsDoc } from '../../src/main/store/settings'
import { openSqlStore } from '../../src/main/store/sql-store'
import { recordingLogger, tempDir } from './helpers'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-faults-'))
})
afterEach(() => cleanup())

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })

function settingsStore(fsOps: Partial<DurableFsOps> = {}, logger = recordingLogger()): Promise<Store<SettingsDoc>> {
  return Store.open<SettingsDoc>(dir, { codec: SETTINGS_CODEC, logger, fsOps })
}

const hooks = { onFrameReady: () => {}, onPreview: () => {}, onStatus: () => {}, onStopped: () => {} }

describe('a write that fails (disk full) never stays applied in memory', () => {
  it('cameras.create and a settings update fail cleanly, and a later write does not persist them', async () => {
    const disk = { full: false }
    const store = await settingsStore({
      writeSynced: async (p, t) => {
        if (disk.full) throw enospc()
        await realFsOps.writeSynced(p, t)
      }
    })
    const svc = new CameraService(store, hooks)
    try {
      disk.full = true
      await expect(svc.create({ name: 'gate', url: 'rtsp://127.0.0.1:1/x', enabled: false })).rejects.toThrow(/ENOSPC/)
      expect(svc.list()).toEqual([])
      await expect(
        store.mutate((d) => {
          d.settings.retentionDays = 3
        })
      ).rejects.toThrow(/ENOSPC/)
      expect(store.data.settings.retentionDays).toBe(30)
      disk.full = false
      // an unrelated write afterwards carries neither of them to disk
      await store.mutate((d) => {
        d.settings.minEnrolQuality = 0.5
      })
      const onDisk = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as SettingsDoc
      expect(onDisk.cameras).toEqual([])
      expect(onDisk.settings.retentionDays).toBe(30)
      expect(onDisk.settings.minEnrolQuality).toBe(0.5)
    } finally {
      await svc.stopAll()
      await store.close()
    }
  })
})

describe('crash recovery never deletes the last good copy', () => {
  it('a crash just before the rename, then a corrupt file: the complete temp copy is used, nothing deleted, logged', async () => {
    let crashBeforeRename = false
    const store = await settingsStore({
      rename: async (a, b) => {
        if (crashBeforeRename && b.endsWith('settings.json'))
          throw Object.assign(new Error('killed'), { code: 'EINTR' })
        await realFsOps.rename(a, b)
      }
    })
    await store.mutate((d) => {
      d.settings.retentionDays = 10
    })
    crashBeforeRename = true
    await expect(
      store.mutate((d) => {
        d.settings.retentionDays = 11
      })
    ).rejects.toThrow(/killed/)
    await store.close()
    // the file is then damaged (disk error, editor): the temp file holds the newest complete copy
    await writeFile(join(dir, 'settings.json'), '{"schemaVersion":1,"settings":{"retentio')
    const logger = recordingLogger()
    const again = await settingsStore({}, logger)
    try {
      expect(again.opened.kind).toBe('recovered-from-backup')
      expect(again.data.settings.retentionDays).toBe(11)
      expect(logger.errors.join('\n')).toMatch(/restored the last complete version from .*\.settings\.json\.tmp/)
      const names = await readdir(dir)
      // the damaged file is kept aside, the backup is still there
      expect(names.some((n) => n.startsWith('settings.json.corrupt-'))).toBe(true)
      expect(names).toContain('settings.json.bak')
    } finally {
      await again.close()
    }
  })

  it('without a temp copy the previous version (.bak) is used, never an empty store', async () => {
    const store = await settingsStore()
    await store.mutate((d) => {
      d.settings.retentionDays = 10
    })
    await store.mutate((d) => {
      d.settings.retentionDays = 12
    })
    await store.close()
    await writeFile(join(dir, 'settings.json'), 'garbage')
    const again = await settingsStore()
    try {
      expect(again.opened.kind).toBe('recovered-from-backup')
      expect(again.data.settings.retentionDays).toBe(10)
    } finally {
      await again.close()
    }
  })
})

describe('a partly corrupt record does not stop startup', () => {
  it('settings.workers: 0 and a broken camera: defaults used, camera set aside, original quarantined, logged', async () => {
    await writeFile(
      join(dir, 'settings.json'),
      JSON.stringify({
        schemaVersion: 1,
        settings: { workers: 0, retentionDays: 7, thresholds: { accept: 'high' } },
        cameras: [
          null,
          {
            id: 'c1',
            name: 'ok',
            url: 'rtsp://127.0.0.1/a',
            enabled: true,
            detectFps: 5,
            maxDetectWidth: 640,
            minFaceSize: 24,
            loop: false
          },
          {
            id: 'c2',
            name: 'bad',
            url: 'ftp://nope',
            enabled: true,
            detectFps: 5,
            maxDetectWidth: 640,
            minFaceSize: 24,
            loop: false
          }
        ]
      })
    )
    const logger = recordingLogger()
    const store = await settingsStore({}, logger)
    try {
      expect(store.data.settings.workers).toBe(2)
      expect(store.data.settings.retentionDays).toBe(7)
      expect(store.data.settings.thresholds).toEqual({ accept: 0.4, review: 0.3 })
      expect(store.data.cameras.map((c) => c.id)).toEqual(['c1'])
      const log = logger.errors.join('\n')
      expect(log).toMatch(/settings\.workers = 0 is invalid/)
      expect(log).toMatch(/camera #0 is invalid/)
      expect(log).toMatch(/camera #2 \(c2\) is invalid/)
      const kept = (await readdir(dir)).filter((n) => n.startsWith('settings.json.quarantine-'))
      expect(kept).toHaveLength(1)
      expect(await readFile(join(dir, kept[0]), 'utf8')).toContain('"workers":0')
    } finally {
      await store.close()
    }
  })

  it('a 0.1 db.json of {"schemaVersion":1,"people":[null]} imports, with the null person set aside', async () => {
    await writeFile(join(dir, 'db.json'), '{"schemaVersion":1,"people":[null]}')
    const settings = await settingsStore()
    const sql = await openSqlStore({ dataDir: dir })
    try {
      const report = await importLegacyDb(dir, sql, settings, recordingLogger())
      expect(report?.counts.people).toBe(0)
      expect(report?.quarantined).toEqual(['person: id or name missing'])
    } finally {
      await sql.close()
      await settings.close()
    }
  })
})

describe('the data dir is private', () => {
  it('is created 0700, and an existing one and its files are tightened at start', async () => {
    const fresh = join(dir, 'fresh')
    const s1 = await Store.open<SettingsDoc>(fresh, { codec: SETTINGS_CODEC, logger: recordingLogger() })
    await s1.close()
    expect((await stat(fresh)).mode & 0o777).toBe(0o700)
    expect((await stat(join(fresh, 'settings.json'))).mode & 0o777).toBe(0o600)

    const old = join(dir, 'old')
    await mkdir(old, { mode: 0o755 })
    await chmod(old, 0o755)
    await writeFile(join(old, 'db.json.bak'), '{}', { mode: 0o644 })
    await chmod(join(old, 'db.json.bak'), 0o644)
    const s2 = await Store.open<SettingsDoc>(old, { codec: SETTINGS_CODEC, logger: recordingLogger() })
    await s2.close()
    expect((await stat(old)).mode & 0o777).toBe(0o700)
    expect((await stat(join(old, 'db.json.bak'))).mode & 0o777).toBe(0o600)
  })
})
