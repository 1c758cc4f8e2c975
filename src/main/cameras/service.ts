// Camera configuration (persisted) and the lifecycle of one CameraSource per camera. The live
// processor subscribes to frames; the UI gets redacted views, never a URL with its password.
import { randomUUID } from 'node:crypto'
import { ApiError, type CameraInput } from '../../shared/api'
import type { CameraConfig, CameraStatus, CameraView } from '../../shared/types'
import type { CameraFrame } from '../contracts'
import type { Store } from '../store/db'
import type { StoredCamera } from '../store/schema'
import type { SecretBox } from '../store/secret-box'
import type { SettingsDoc } from '../store/settings'
import { applyPolicy, OPERATOR_POLICY } from './policy'
import { CameraSource, initialStatus, testCameraUrl, type CameraSourceOptions } from './source'
import { CameraUrlError, classifyUrl, redactUrl, restoreSecrets } from './url'
import type { CameraTestResult } from '../../shared/types'

export const CAMERA_DEFAULTS = {
  enabled: true,
  detectFps: 5,
  maxDetectWidth: 640,
  minFaceSize: 24,
  loop: false
} as const

export interface CameraServiceHooks {
  /** a new frame is waiting in the source; claim it with takeLatest() when ready (newest wins) */
  onFrameReady(source: CameraSource): void
  onPreview(cameraId: string, jpeg: Buffer, at: number): void
  onStatus(view: CameraView): void
  /** the camera stopped (removed or disabled): its open tracks can be finished */
  onStopped(cameraId: string): void
}

export class CameraService {
  private readonly sources = new Map<string, CameraSource>()
  /** ids being deleted: an update racing the delete must not start a new ffmpeg for them */
  private readonly removing = new Set<string>()
  private stopped = false

  constructor(
    private readonly store: Pick<Store<SettingsDoc>, 'data' | 'mutate'>,
    private readonly hooks: CameraServiceHooks,
    private readonly sourceOptions: CameraSourceOptions = {},
    /** this instance: cameras assigned to another instance are listed but not analysed here */
    private readonly instanceId: string | null = null,
    /** cameras allowed at once (Settings → maxCameras); default unlimited */
    private readonly maxCameras: () => number = () => Number.POSITIVE_INFINITY,
    /** encrypts URL credentials at rest; without one URLs are stored as given (tests, CLI) */
    private readonly box: SecretBox | null = null
  ) {}

  /** The configuration with its real URL (decrypted); the stored form never holds a password. */
  private real(c: StoredCamera): CameraConfig {
    const { urlSealed, ...cfg } = c
    if (urlSealed === undefined || !this.box) return cfg
    try {
      return { ...cfg, url: this.box.open(urlSealed) }
    } catch {
      // the redacted URL then fails with "authentication failed": re-entering the URL fixes it
      return cfg
    }
  }

  private stored(c: CameraConfig): StoredCamera {
    const redacted = redactUrl(c.url)
    if (!this.box || redacted === c.url) return { ...c }
    return { ...c, url: redacted, urlSealed: this.box.seal(c.url) }
  }

  /** Seals credentials of cameras stored before encryption at rest (once, at start). */
  async sealStored(): Promise<number> {
    if (!this.box) return 0
    const plain = this.store.data.cameras.filter((c) => c.urlSealed === undefined && redactUrl(c.url) !== c.url)
    if (plain.length === 0) return 0
    await this.store.mutate((d) => {
      d.cameras = d.cameras.map((c) => (c.urlSealed === undefined ? this.stored(c) : c))
    })
    return plain.length
  }

  /** One frame of `url` for the camera form, under the same source policy as the cameras. */
  test(url: string): Promise<CameraTestResult> {
    return testCameraUrl(url, 8000, { policy: this.sourceOptions.policy, ffmpegPath: this.sourceOptions.ffmpegPath })
  }

  /** A URL the engine would refuse to open is refused when saved, with the same reason. */
  private async checkUrl(url: string): Promise<void> {
    try {
      await applyPolicy(classifyUrl(url), this.sourceOptions.policy ?? OPERATOR_POLICY)
    } catch (e) {
      if (e instanceof CameraUrlError) throw new ApiError('invalid_request', e.message)
      throw e
    }
  }

  /** Starts a source for every stored camera of this instance (disabled ones only report 'disabled'). */
  startAll(): void {
    for (const c of this.store.data.cameras) if (this.mine(c)) this.attach(this.real(c))
  }

  /** Analysed here: not assigned, or assigned to this instance. */
  mine(c: Pick<CameraConfig, 'instance'>): boolean {
    return c.instance === undefined || this.instanceId === null || c.instance === this.instanceId
  }

  list(): CameraView[] {
    return this.store.data.cameras.map((c) => this.view(c))
  }

  get(id: string): CameraConfig {
    const c = this.store.data.cameras.find((x) => x.id === id)
    if (!c) throw new ApiError('not_found', `no camera with id ${id}`)
    return this.real(c)
  }

  source(id: string): CameraSource | undefined {
    return this.sources.get(id)
  }

  async create(input: CameraInput): Promise<CameraView> {
    const cfg: CameraConfig = {
      ...CAMERA_DEFAULTS,
      ...(this.instanceId ? { instance: this.instanceId } : {}),
      ...input,
      id: randomUUID()
    }
    const max = this.maxCameras()
    if (this.store.data.cameras.length >= max)
      throw new ApiError('conflict', `at most ${max} cameras can be configured (Settings → Maximum cameras)`)
    this.assertUniqueName(cfg.name, null)
    await this.checkUrl(cfg.url)
    // the camera exists (and starts) only once settings.json has it: a failed write leaves no trace
    await this.store.mutate((d) => {
      d.cameras.push(this.stored(cfg))
    })
    if (this.mine(cfg)) this.attach(cfg)
    return this.view(cfg)
  }

  async update(id: string, patch: Partial<CameraInput>): Promise<CameraView> {
    if (this.removing.has(id)) throw new ApiError('not_found', `camera ${id} is being removed`)
    const current = this.get(id)
    if (patch.name !== undefined) this.assertUniqueName(patch.name, id)
    // the console only ever sees the redacted URL; saving it back (edited or not) keeps the secrets
    // where it still shows *** and the host is the same
    if (patch.url !== undefined) {
      patch = { ...patch, url: restoreSecrets(patch.url, current.url) }
      if (patch.url !== current.url) await this.checkUrl(patch.url as string)
    }
    const next: CameraConfig = { ...current, ...stripUndefined(patch), id }
    await this.store.mutate((d) => {
      const i = d.cameras.findIndex((x) => x.id === id)
      if (i >= 0) d.cameras[i] = this.stored(next)
    })
    const src = this.sources.get(id)
    if (src && !this.mine(next)) {
      // reassigned to another instance: stop analysing it here
      this.sources.delete(id)
      src.removeAllListeners()
      await src.stop()
      this.hooks.onStopped(id)
    } else if (src) {
      await src.update(next)
      if (!next.enabled) this.hooks.onStopped(id)
      else if (this.live(id)) src.start()
    } else if (this.live(id) && this.mine(next)) this.attach(next)
    return this.view(next)
  }

  async remove(id: string): Promise<void> {
    if (this.removing.has(id)) throw new ApiError('not_found', `camera ${id} is being removed`)
    this.get(id)
    this.removing.add(id)
    try {
      const src = this.sources.get(id)
      this.sources.delete(id)
      if (src) {
        src.removeAllListeners()
        await src.stop()
      }
      await this.store.mutate((d) => {
        d.cameras = d.cameras.filter((x) => x.id !== id)
      })
    } finally {
      this.removing.delete(id)
    }
    this.hooks.onStopped(id)
  }

  /** still configured, not being removed, service running */
  private live(id: string): boolean {
    return !this.stopped && !this.removing.has(id) && this.store.data.cameras.some((c) => c.id === id)
  }

  async stopAll(): Promise<void> {
    this.stopped = true
    const all = [...this.sources.values()]
    this.sources.clear()
    await Promise.all(
      all.map(async (s) => {
        s.removeAllListeners()
        await s.stop()
      })
    )
  }

  view(c: StoredCamera): CameraView {
    const { url, ...rest } = this.real(c)
    return { ...rest, urlRedacted: redactUrl(url), status: this.status(c) }
  }

  private status(c: CameraConfig): CameraStatus {
    const s = this.sources.get(c.id)?.status() ?? initialStatus(c)
    if (!this.mine(c)) return { ...s, state: 'disabled', reason: `analysed by instance ${c.instance ?? '?'}` }
    return s
  }

  private attach(cfg: CameraConfig): void {
    if (this.sources.has(cfg.id)) return
    const src = new CameraSource(cfg, this.sourceOptions)
    src.on('frame', () => this.hooks.onFrameReady(src))
    src.on('preview', (cameraId, jpeg, at) => this.hooks.onPreview(cameraId, jpeg, at))
    src.on('status', () => {
      const c = this.store.data.cameras.find((x) => x.id === cfg.id)
      if (c) this.hooks.onStatus(this.view(c))
    })
    this.sources.set(cfg.id, src)
    src.start()
  }

  private assertUniqueName(name: string, selfId: string | null): void {
    const n = name.trim().toLowerCase()
    if (this.store.data.cameras.some((c) => c.id !== selfId && c.name.trim().toLowerCase() === n)) {
      throw new ApiError('conflict', `a camera named "${name}" already exists`)
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

export type { CameraFrame }
