// Shared setup of the attack tests: a real browser-mode server on 127.0.0.1 whose camera channels
// run the real camera box (CameraService over a real lowdb store, real ffmpeg); the other channels
// come from the shell tests' fake backend because the attacks here do not need the models.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { settingsPolicy } from '../../src/main/cameras/policy'
import { CameraService } from '../../src/main/cameras/service'
import { startServer, type RunningServer, type ServerOptions } from '../../src/main/server/server'
import { silentLogger } from '../../src/main/log/logger'
import { Store } from '../../src/main/store/db'
import { SETTINGS_CODEC, type SettingsDoc } from '../../src/main/store/settings'
import type { SecretBox } from '../../src/main/store/secret-box'
import type { Handlers } from '../../src/shared/api'
import type { CameraView } from '../../src/shared/types'
import { fakeBackend, type FakeBackend } from '../shell/fake-backend'

export interface CameraLab {
  dir: string
  store: Store<SettingsDoc>
  cameras: CameraService
  backend: FakeBackend
  server: RunningServer
  statuses: CameraView[]
  close(): Promise<void>
}

export interface LabOptions {
  /** folders listed in Settings → Local video folders */
  folders?: string[]
  /** the API is reachable off loopback (files off whatever the folders say) */
  exposed?: boolean
  maxCameras?: number
  server?: Partial<ServerOptions>
  box?: SecretBox
  /** reuse a data dir (restart scenarios); default a fresh temp dir */
  dir?: string
}

export interface CameraBackend {
  store: Store<SettingsDoc>
  cameras: CameraService
  backend: FakeBackend
  statuses: CameraView[]
  close(): Promise<void>
}

/** The real camera box behind a fake backend's other channels (see the file comment). */
export async function cameraBackend(dataDir: string, opts: LabOptions = {}): Promise<CameraBackend> {
  const store = await Store.open<SettingsDoc>(dataDir, { codec: SETTINGS_CODEC, logger: silentLogger })
  store.data.settings.localVideoFolders = opts.folders ?? []
  store.data.settings.maxCameras = opts.maxCameras ?? 16
  const statuses: CameraView[] = []
  let backend: FakeBackend | null = null
  const cameras = new CameraService(
    store,
    {
      onFrameReady: (src) => void src.takeLatest(),
      onPreview: () => {},
      onStatus: (v) => {
        statuses.push(v)
        backend?.emit('camera.status', v)
      },
      onStopped: () => {}
    },
    {
      watchdogMs: 4000,
      backoff: { initialMs: 200, maxMs: 400 },
      policy: settingsPolicy(() => store.data.settings.localVideoFolders, opts.exposed !== true)
    },
    null,
    () => store.data.settings.maxCameras,
    opts.box ?? null
  )
  await cameras.sealStored()
  const real: Partial<Record<keyof Handlers, (req: unknown) => Promise<unknown>>> = {
    'cameras.list': async () => cameras.list(),
    'cameras.create': async (req) => cameras.create(req as Parameters<CameraService['create']>[0]),
    'cameras.update': async (req) => {
      const { id, ...patch } = req as { id: string }
      return cameras.update(id, patch)
    },
    'cameras.delete': async (req) => {
      await cameras.remove((req as { id: string }).id)
      return { deleted: true }
    },
    'cameras.test': async (req) => cameras.test((req as { url: string }).url)
  }
  backend = fakeBackend(real)
  const b = backend
  const close = b.close
  b.close = async () => {
    await cameras.stopAll()
    await store.close()
    await close()
  }
  return { store, cameras, backend: b, statuses, close: () => b.close() }
}

export async function cameraLab(opts: LabOptions = {}): Promise<CameraLab> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vigil-sec-'))
  const cb = await cameraBackend(join(dir, 'data'), opts)
  const server = await startServer({
    backend: cb.backend,
    port: 0,
    staticDir: join(dir, 'static'),
    log: () => {},
    ...opts.server
  })
  return {
    dir,
    store: cb.store,
    cameras: cb.cameras,
    backend: cb.backend,
    server,
    statuses: cb.statuses,
    async close() {
      await server.close()
      await cb.close()
      if (!opts.dir) rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** invoke with a long timeout: probes queue behind the global semaphore on a loaded machine */
export async function call(
  c: import('../shell/ws-client').TestClient,
  id: number,
  channel: string,
  payload?: unknown
): Promise<Extract<import('../../src/shared/api').WsServerMessage, { kind: 'result' }>> {
  c.send({ kind: 'invoke', id, channel, payload })
  const m = await c.next((x) => x.kind === 'result' && x.id === id, 60_000)
  return m as Extract<typeof m, { kind: 'result' }>
}
