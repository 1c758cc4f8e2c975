// Camera configuration (persisted) and the lifecycle of one CameraSource per camera. The live
// processor subscribes to frames; the UI gets redacted views, never a URL with its password.
import { randomUUID } from 'node:crypto'
import { ApiError, type CameraInput } from '../../shared/api'
import type { CameraConfig, CameraStatus, CameraView } from '../../shared/types'
import type { CameraFrame } from '../contracts'
import type { Store } from '../store/db'
import { VideoRemuxer, type VideoChunk } from './remux'
import type { SettingsDoc } from '../store/settings'
import { CameraSource, initialStatus, type CameraSourceOptions } from './source'
import { redactUrl } from './url'

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
    private readonly instanceId: string | null = null
  ) {}

  /** Starts a source for every stored camera of this instance (disabled ones only report 'disabled'). */
  startAll(): void {
    for (const c of this.store.data.cameras) if (this.mine(c)) this.attach(c)
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
    return c
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
    this.assertUniqueName(cfg.name, null)
    // the camera exists (and starts) only once settings.json has it: a failed write leaves no trace
    await this.store.mutate((d) => {
      d.cameras.push(cfg)
    })
    if (this.mine(cfg)) this.attach(cfg)
    return this.view(cfg)
  }

  async update(id: string, patch: Partial<CameraInput>): Promise<CameraView> {
    if (this.removing.has(id)) throw new ApiError('not_found', `camera ${id} is being removed`)
    const current = this.get(id)
    if (patch.name !== undefined) this.assertUniqueName(patch.name, id)
    // the console only ever sees the redacted URL; saving it back unchanged must keep the password
    if (patch.url !== undefined && patch.url === redactUrl(current.url)) patch = { ...patch, url: current.url }
    if (patch.detectUrl && current.detectUrl && patch.detectUrl === redactUrl(current.detectUrl))
      patch = { ...patch, detectUrl: current.detectUrl }
    if (patch.detectUrl === '') patch = { ...patch, detectUrl: null }
    const next: CameraConfig = { ...current, ...stripUndefined(patch), id }
    await this.store.mutate((d) => {
      const i = d.cameras.findIndex((x) => x.id === id)
      if (i >= 0) d.cameras[i] = next
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

  view(c: CameraConfig): CameraView {
    const { url, detectUrl, ...rest } = c
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
