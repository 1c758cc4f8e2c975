// Camera configuration (persisted) and the lifecycle of one CameraSource per camera. The live
// processor subscribes to frames; the UI gets redacted views, never a URL with its password.
import { randomUUID } from 'node:crypto'
import { ApiError, type CameraInput } from '../../shared/api'
import type { CameraConfig, CameraStatus, CameraView } from '../../shared/types'
import type { CameraFrame } from '../contracts'
import type { Store } from '../store/db'
import { VideoRemuxer, type VideoChunk } from './remux'
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
  /** live video of a focused camera (fragmented MP4) */
  onVideo?(chunk: VideoChunk): void
}

/** a focus lease lasts this long unless renewed (the page renews every 5 s) */
const FOCUS_LEASE_MS = 15_000

export class CameraService {
  private readonly sources = new Map<string, CameraSource>()
  /** ids being deleted: an update racing the delete must not start a new ffmpeg for them */
  private readonly removing = new Set<string>()
  private stopped = false
  private readonly videos = new Map<string, { remuxer: VideoRemuxer; until: number }>()
  private leaseTimer: NodeJS.Timeout | null = null

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
    const { urlSealed, detectUrlSealed, ...cfg } = c
    const box = this.box
    if (!box) return cfg
    const open = (sealed: string | undefined, fallback: string): string => {
      if (sealed === undefined) return fallback
      try {
        return box.open(sealed)
      } catch {
        // the redacted URL then fails with "authentication failed": re-entering the URL fixes it
        return fallback
      }
    }
    return {
      ...cfg,
      url: open(urlSealed, cfg.url),
      ...(cfg.detectUrl ? { detectUrl: open(detectUrlSealed, cfg.detectUrl) } : {})
    }
  }

  /** Both URLs of a camera (view and detect stream) keep their credentials only sealed. */
  private stored(c: CameraConfig): StoredCamera {
    const out: StoredCamera = { ...c }
    if (!this.box) return out
    if (redactUrl(c.url) !== c.url) {
      out.url = redactUrl(c.url)
      out.urlSealed = this.box.seal(c.url)
    }
    if (c.detectUrl && redactUrl(c.detectUrl) !== c.detectUrl) {
      out.detectUrl = redactUrl(c.detectUrl)
      out.detectUrlSealed = this.box.seal(c.detectUrl)
    }
    return out
  }

  /** Seals credentials of cameras stored before encryption at rest (once, at start). */
  async sealStored(): Promise<number> {
    if (!this.box) return 0
    const unsealed = (u: string | null | undefined, sealed: string | undefined): boolean =>
      !!u && sealed === undefined && redactUrl(u) !== u
    const plain = this.store.data.cameras.filter(
      (c) => unsealed(c.url, c.urlSealed) || unsealed(c.detectUrl, c.detectUrlSealed)
    )
    if (plain.length === 0) return 0
    await this.store.mutate((d) => {
      d.cameras = d.cameras.map((c) => this.stored(this.real(c)))
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
      detectUrl: input.detectUrl || null,
      id: randomUUID()
    }
    const max = this.maxCameras()
    if (this.store.data.cameras.length >= max)
      throw new ApiError('conflict', `at most ${max} cameras can be configured (Settings → Maximum cameras)`)
    this.assertUniqueName(cfg.name, null)
    await this.checkUrl(cfg.url)
    if (cfg.detectUrl) await this.checkUrl(cfg.detectUrl)
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
    if (patch.detectUrl === '') patch = { ...patch, detectUrl: null }
    if (patch.detectUrl) {
      const restored = current.detectUrl ? restoreSecrets(patch.detectUrl, current.detectUrl) : patch.detectUrl
      patch = { ...patch, detectUrl: restored }
      if (restored !== current.detectUrl) await this.checkUrl(restored)
    }
    const next: CameraConfig = { ...current, ...stripUndefined(patch), id }
    await this.store.mutate((d) => {
      const i = d.cameras.findIndex((x) => x.id === id)
      if (i >= 0) d.cameras[i] = this.stored(next)
    })
    const src = this.sources.get(id)
    // a new URL or a disabled camera: the page renews its lease and gets the new stream
    this.stopVideo(id)
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
    this.stopVideo(id)
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

  /**
   * Starts (or renews) live video for a focused tile. False when the camera is not running.
   * One remux per camera, however many pages focus it; it ends when no lease is renewed.
   */
  focus(id: string): boolean {
    const cfg = this.get(id)
    if (this.stopped || !cfg.enabled || !this.sources.has(id)) return false
    const until = Date.now() + FOCUS_LEASE_MS
    const cur = this.videos.get(id)
    if (cur && !cur.remuxer.stopped) {
      cur.until = until
      return true
    }
    const remuxer = new VideoRemuxer(cfg, this.sourceOptions.ffmpegPath)
    remuxer.on('chunk', (c: VideoChunk) => this.hooks.onVideo?.(c))
    remuxer.on('end', () => {
      // ended by itself (stream gone): the next renewal starts a new one
      if (this.videos.get(id)?.remuxer === remuxer) this.videos.delete(id)
    })
    this.videos.set(id, { remuxer, until })
    remuxer.start().catch(() => this.stopVideo(id))
    if (!this.leaseTimer) {
      this.leaseTimer = setInterval(() => {
        const now = Date.now()
        for (const [vid, v] of this.videos) if (v.until < now) this.stopVideo(vid)
        if (this.videos.size === 0 && this.leaseTimer) {
          clearInterval(this.leaseTimer)
          this.leaseTimer = null
        }
      }, 1000)
      this.leaseTimer.unref()
    }
    return true
  }

  private stopVideo(id: string): void {
    this.videos.get(id)?.remuxer.stop()
    this.videos.delete(id)
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.videos.keys()]) this.stopVideo(id)
    if (this.leaseTimer) clearInterval(this.leaseTimer)
    this.leaseTimer = null
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
    const { url, detectUrl, ...rest } = this.real(c)
    return {
      ...rest,
      urlRedacted: redactUrl(url),
      detectUrlRedacted: detectUrl ? redactUrl(detectUrl) : null,
      status: this.status(c)
    }
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
