import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CameraService } from '../../src/main/cameras/service'
import { Store } from '../../src/main/store/db'
import type { CameraView } from '../../src/shared/types'

describe('CameraService', () => {
  let dir: string
  let store: Store
  let svc: CameraService
  const statuses: CameraView[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cams-'))
    store = await Store.open(dir)
    svc = new CameraService(store, {
      onFrameReady: () => {},
      onPreview: () => {},
      onStatus: (v) => statuses.push(v),
      onStopped: () => {}
    })
  })
  afterEach(async () => {
    await svc.stopAll()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('never shows the password and keeps it when the redacted URL is saved back', async () => {
    const v = await svc.create({ name: 'gate', url: 'rtsp://admin:s3cret@127.0.0.1:1/stream', enabled: false })
    expect(v.urlRedacted).not.toContain('s3cret')
    expect(JSON.stringify(svc.list())).not.toContain('s3cret')
    await svc.update(v.id, { url: v.urlRedacted, name: 'gate 2' })
    expect(store.data.cameras[0]!.url).toBe('rtsp://admin:s3cret@127.0.0.1:1/stream')
    expect(store.data.cameras[0]!.name).toBe('gate 2')
    expect(statuses.every((s) => !JSON.stringify(s).includes('s3cret'))).toBe(true)
  })

  it('keeps the detect stream password out of every view, keeps it on a redacted save, clears it on ""', async () => {
    const v = await svc.create({
      name: 'yard',
      url: 'rtsp://admin:s3cret@127.0.0.1:1/main',
      detectUrl: 'rtsp://admin:s3cret@127.0.0.1:1/sub',
      enabled: false
    })
    expect(v.detectUrlRedacted).toBe('rtsp://***@127.0.0.1:1/sub')
    expect(JSON.stringify(svc.list())).not.toContain('s3cret')
    await svc.update(v.id, { detectUrl: v.detectUrlRedacted! })
    expect(store.data.cameras[0]!.detectUrl).toBe('rtsp://admin:s3cret@127.0.0.1:1/sub')
    const cleared = await svc.update(v.id, { detectUrl: '' })
    expect(cleared.detectUrlRedacted).toBeNull()
    expect(store.data.cameras[0]!.detectUrl).toBeNull()
  })

  it('persists cameras, refuses duplicate names and unknown ids with clear errors', async () => {
    await svc.create({ name: 'Lobby', url: '/nonexistent.mp4', enabled: false })
    await expect(svc.create({ name: 'lobby', url: '/x.mp4', enabled: false })).rejects.toMatchObject({
      code: 'conflict'
    })
    await expect(svc.update('nope', { name: 'x' })).rejects.toMatchObject({ code: 'not_found' })
    const reopened = await (async () => {
      await store.close()
      store = await Store.open(dir)
      return store.data.cameras
    })()
    expect(reopened.map((c) => c.name)).toEqual(['Lobby'])
  })

  it('a wrong URL ends in an error status with a reason, and nothing stored is lost', async () => {
    const v = await svc.create({ name: 'bad', url: '/definitely/not/here.mp4' })
    const until = Date.now() + 15_000
    let state = svc.list()[0]!.status
    while (state.state !== 'error' && state.state !== 'offline' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      state = svc.list()[0]!.status
    }
    expect(['error', 'offline']).toContain(state.state)
    expect(state.reason).toMatch(/not found|no such file/i)
    expect(store.data.cameras.map((c) => c.id)).toEqual([v.id])
  })
})
