// Finding 7 of the review (smaller issues): the dev-server URL, the Electron CSP, what system.info
// tells clients, and face photos nobody can reach any more.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CSP_BROWSER, CSP_ELECTRON } from '../../src/main/api/csp'
import { devRendererUrl } from '../../src/main/electron/policy'
import { MediaStore } from '../../src/main/store/media'
import { sweepOrphans } from '../../src/main/store/orphans'

const tmp = mkdtempSync(join(tmpdir(), 'vigil-hygiene-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('Electron', () => {
  it('trusts ELECTRON_RENDERER_URL only in a development build, and only on loopback', () => {
    const env = { ELECTRON_RENDERER_URL: 'http://localhost:5173' }
    expect(devRendererUrl(env, true)).toBe('http://localhost:5173')
    // npm start runs a production build: an inherited variable must not make a page "the app"
    expect(devRendererUrl(env, false)).toBeUndefined()
    expect(devRendererUrl({ ELECTRON_RENDERER_URL: 'http://evil.example:5173' }, true)).toBeUndefined()
    expect(devRendererUrl({ ELECTRON_RENDERER_URL: 'file:///tmp/x.html' }, true)).toBeUndefined()
    expect(devRendererUrl({}, true)).toBeUndefined()
  })

  it('the IPC console may open no connection at all; browser mode only its own origin', () => {
    expect(CSP_ELECTRON).toContain("connect-src 'none'")
    expect(CSP_ELECTRON).not.toMatch(/ws:|wss:|http:/)
    expect(CSP_BROWSER).toContain("connect-src 'self';")
  })
})

describe('system.info', () => {
  it('carries no data-dir path and no process ids (type-level: SystemInfo has neither)', async () => {
    // the engine's own answer is checked in test/app/backend.test.ts; here the shape is pinned
    const info: import('../../src/shared/types').SystemInfo = {
      version: '1',
      mode: 'browser',
      workers: [{ id: 0, requested: 'cpu', provider: 'cpu', state: 'ready', jobsDone: 0 }],
      queueDepth: 0,
      logFile: 'logs/vigil.log',
      load: { overloaded: false, analysedFps: 0, offeredFps: 0, cameras: [] }
    }
    expect(Object.keys(info)).not.toContain('dataDir')
    expect(Object.keys(info.workers[0]!)).not.toContain('pid')
  })
})

describe('orphaned photos', () => {
  it('are swept when old and unreferenced; referenced, fresh and other kinds are kept', async () => {
    const media = new MediaStore(join(tmp, 'data'))
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9])
    const kept = await media.put('photos', jpeg)
    const orphan = await media.put('photos', jpeg)
    const fresh = await media.put('photos', jpeg)
    const crop = await media.put('crops', jpeg)
    const old = new Date(Date.now() - 2 * 3_600_000)
    for (const k of [kept, orphan, crop]) utimesSync(media.path(k), old, old)
    const tempDir = join(media.root, 'photos', '2020-01-01')
    await mkdir(tempDir, { recursive: true })
    writeFileSync(join(tempDir, 'x.jpg.tmp'), 'partial')
    utimesSync(join(tempDir, 'x.jpg.tmp'), old, old)

    const r = await sweepOrphans(media, 'photos', () => [kept])
    expect(r).toEqual({ scanned: 3, removed: 1, temps: 1 })
    await expect(media.read(orphan)).rejects.toMatchObject({ code: 'not_found' })
    expect((await media.read(kept)).length).toBe(jpeg.length)
    expect((await media.read(fresh)).length).toBe(jpeg.length)
    expect((await media.read(crop)).length).toBe(jpeg.length)
    expect(await media.days('photos')).not.toContain('2020-01-01')
  })
})
