// From camera frames to decisions: analyse the newest frame of each camera, track faces, pool each
// track's evidence, and turn stable decisions into events and review items. One frame per camera
// is in flight at a time, and at most `concurrency` over all cameras; which camera goes next is a
// weighted fair share (scheduler.ts). Frames that arrive meanwhile are replaced in the source
// (newest wins), so a slow machine lowers every camera's analysed fps evenly instead of growing
// memory or latency; the load is reported (LiveLoad) so the console can say so.
import { ApiError } from '../../shared/api'
import type {
  Band,
  Box,
  CameraLoad,
  FaceQuality,
  FrameOverlay,
  LiveLoad,
  Settings,
  TrackOverlay
} from '../../shared/types'
import { RateMeter } from '../cameras/framing'
import type { CameraSource } from '../cameras/source'
import type { Analyzer, AnalyzeResult, CameraFrame, MatchResult, RgbImage } from '../contracts'
import type { EventLog, TrackEventInput } from '../events/events'
import type { Gallery } from '../gallery/gallery'
import type { FaceMemory } from '../memory/face-memory'
import type { ReviewQueue } from '../review/queue'
import { encodeJpeg } from '../store/media'
import { TrackDecider, type WritePlan } from '../tracking/decision'
import { classifySceneChange, frameSignature, signatureDistance } from '../tracking/scene'
import { iou } from '../tracking/assign'
import { FaceTracker, type Track } from '../tracking/tracker'
import { FairScheduler, nextOverloaded } from './scheduler'
import { silentLogger, type Logger } from '../log/logger'
import { BAND_HEX, hexToRgb } from '../../shared/theme'

/** What a track keeps of a frame for its best crops: the frame itself is shared, not copied. */
interface FrameRef {
  image: RgbImage
  /** detection-frame coordinates */
  box: Box
  scale: number
  at: number
}

interface PlannedWrite {
  track: Track<FrameRef>
  plan: WritePlan
  /** time of the frame that decided it */
  at: number
}

/** What the processor stored for a track (the decisions themselves live in the TrackDecider). */
interface TrackState {
  /** what each event of the track was last stored with, to close it at the track's end */
  lastInput: Map<string, TrackEventInput>
}

/** What the processor uses of a camera source (narrow, so unit tests can stand in for it). */
type FrameSource = Pick<CameraSource, 'id' | 'takeLatest'>

interface CameraState {
  cameraId: string
  /** camera states made in this process before this one: keeps stored track ids unique across restarts */
  gen: number
  tracker: FaceTracker<FrameRef>
  decider: TrackDecider
  /** luma grid of the last analysed frame, for shot-cut detection */
  scene: Float32Array | null
  tracks: Map<string, TrackState>
  busy: boolean
  /** decisions being stored, in frame order */
  persist: Promise<void>
  pendingPersist: number
  overlays: Map<string, TrackOverlay>
  latencies: number[]
  frames: number
  busyDrops: number
  faces: number
  /** sum of model run times of its analysed frames, ms */
  modelMs: number
  /** frames older than maxFrameAgeMs when their turn came, dropped unanalysed */
  staleDrops: number
  source: FrameSource | null
  offered: RateMeter
  analysed: RateMeter
  overloaded: boolean
}

export interface LiveStats {
  cameraId: string
  frames: number
  faces: number
  busyDrops: number
  staleDrops: number
  /** sum of onnxruntime run times of the analysed frames, ms */
  modelMs: number
  /** frame read → decision, ms (most recent first-in-first-out window) */
  latencies: number[]
}

/** What the processor uses of each box (narrow, so unit tests can stand in for them). */
export interface LiveOptions {
  analyzer: Pick<Analyzer, 'analyzeRaw'>
  gallery: Pick<Gallery, 'matcher' | 'enrolQualityOk'>
  events: Pick<EventLog, 'upsertTrackEvent'>
  review: Pick<ReviewQueue, 'isRejected' | 'enqueue'>
  settings: () => Settings
  /** minimum face size per camera, source px */
  minFaceSize?: (cameraId: string) => number
  /** detection tiles per camera side (1 = whole frame only; see inference/tiles.ts) */
  detectTiles?: (cameraId: string) => number
  logger?: Logger
  /** review/unknown decisions need this many embeddings before an event (default 3) */
  minEmbeddingsForEvent?: number
  /** face memory: every finished track becomes a sighting; lasting rejections override verdicts */
  memory?: SightingSink
  /** frames analysed at once over all cameras (default 2; the backend passes the pool's worker count) */
  concurrency?: () => number
  /** fair-share weight per camera (default 1; the backend gives important cameras 2) */
  weight?: (cameraId: string) => number
  /** a frame older than this when its turn comes is dropped, not analysed (default 1000 ms) */
  maxFrameAgeMs?: number
  /** load report: on every change of an overload flag, and each second while overloaded */
  onLoad?: (load: LiveLoad) => void
  /** period of the load check, ms (default 1000) */
  loadIntervalMs?: number
}

export type SightingSink = Pick<FaceMemory, 'record' | 'isRejected'>

const LATENCY_WINDOW = 2000
/** crops are cut with this margin around the face box so the operator sees hair and chin */
const CROP_MARGIN = 0.35
/** frames whose decisions may wait to be stored before the camera's analysis waits for the store */
const MAX_PENDING_PERSIST = 25

/** window of the offered/analysed rates behind the overload flag */
const LOAD_WINDOW_MS = 3000

/** Unique per process run: tracker ids restart at 1 with the app, events must not collide. */
const RUN_TAG = Date.now().toString(36)

export class LiveProcessor {
  private readonly cams = new Map<string, CameraState>()
  private readonly overlayListeners = new Set<(o: FrameOverlay) => void>()
  private readonly trackEndListeners = new Set<(cameraId: string, trackId: string) => void>()
  private readonly inflight = new Set<Promise<void>>()
  private readonly log: Logger
  private readonly scheduler: FairScheduler
  private loadTimer: NodeJS.Timeout | null = null
  private lastLoad: LiveLoad = { overloaded: false, analysedFps: 0, offeredFps: 0, cameras: [] }

  constructor(private readonly o: LiveOptions) {
    this.log = o.logger ?? silentLogger
    this.scheduler = new FairScheduler(o.concurrency ?? (() => 2))
  }

  /** The last load report (every camera analysed at its offered rate → overloaded false). */
  load(): LiveLoad {
    return this.lastLoad
  }

  onOverlay(listener: (o: FrameOverlay) => void): () => void {
    this.overlayListeners.add(listener)
    return () => this.overlayListeners.delete(listener)
  }

  /** A track with events left the view (trackId as stored in its events); alerts send 'end' for it. */
  onTrackEnded(listener: (cameraId: string, trackId: string) => void): () => void {
    this.trackEndListeners.add(listener)
    return () => this.trackEndListeners.delete(listener)
  }

  /** The source has a new frame: it waits in the source slot until the scheduler gives it a turn. */
  frameReady(source: FrameSource): void {
    const cam = this.cam(source.id)
    cam.source = source
    cam.offered.add(Date.now())
    this.scheduler.add(cam.cameraId, this.o.weight?.(cam.cameraId) ?? 1)
    this.scheduler.setReady(cam.cameraId, true)
    this.startLoadTimer()
    this.pump()
  }

  /** Starts frames while slots are free, fairest camera first. */
  private pump(): void {
    const maxAge = this.o.maxFrameAgeMs ?? 1000
    for (let id = this.scheduler.next(); id !== null; id = this.scheduler.next()) {
      const cam = this.cams.get(id)
      const frame = cam?.source?.takeLatest() ?? null
      if (!cam || !frame) {
        this.scheduler.cancel(id)
        continue
      }
      // a frame that waited this long (a stalled decoder, a pool swap) says nothing about now
      if (Date.now() - frame.at > maxAge) {
        cam.staleDrops++
        this.scheduler.cancel(id)
        continue
      }
      cam.busy = true
      const p = this.process(cam, frame)
        .catch((err: unknown) => this.log.error({ cameraId: cam.cameraId }, `frame failed: ${(err as Error).message}`))
        .finally(() => {
          cam.busy = false
          this.inflight.delete(p)
          // a camera stopped meanwhile was removed from the scheduler with its slot already freed
          if (this.cams.get(cam.cameraId) === cam) this.scheduler.done(cam.cameraId)
          this.pump()
        })
      this.inflight.add(p)
    }
  }

  private startLoadTimer(): void {
    if (this.loadTimer) return
    this.loadTimer = setInterval(() => this.checkLoad(), this.o.loadIntervalMs ?? 1000)
    this.loadTimer.unref()
  }

  private checkLoad(): void {
    const now = Date.now()
    let changed = false
    const cameras: CameraLoad[] = []
    for (const c of this.cams.values()) {
      const offeredFps = c.offered.rate(now)
      const analysedFps = c.analysed.rate(now)
      const next = nextOverloaded(c.overloaded, analysedFps, offeredFps)
      if (next !== c.overloaded) changed = true
      c.overloaded = next
      cameras.push({
        cameraId: c.cameraId,
        analysedFps: round1(analysedFps),
        offeredFps: round1(offeredFps),
        overloaded: next
      })
    }
    const overloaded = cameras.some((c) => c.overloaded)
    const mean = (f: (c: CameraLoad) => number): number =>
      cameras.length ? round1(cameras.reduce((a, c) => a + f(c), 0) / cameras.length) : 0
    const load: LiveLoad = {
      overloaded,
      analysedFps: mean((c) => c.analysedFps),
      offeredFps: mean((c) => c.offeredFps),
      cameras
    }
    if (overloaded !== this.lastLoad.overloaded) changed = true
    this.lastLoad = load
    if (changed || overloaded) this.o.onLoad?.(load)
    if (this.cams.size === 0 && this.loadTimer) {
      clearInterval(this.loadTimer)
      this.loadTimer = null
    }
  }

  /** Shutdown: every camera's open tracks are finished so their events are complete. */
  forgetAll(): void {
    for (const id of [...this.cams.keys()]) this.forgetCamera(id)
  }

  /** Camera removed or stopped: finish its tracks so their events are complete. */
  forgetCamera(cameraId: string): void {
    const cam = this.cams.get(cameraId)
    if (!cam) return
    this.cams.delete(cameraId)
    this.scheduler.remove(cameraId)
    // the console must not keep an indicator for a camera that is gone
    if (cam.overloaded) this.checkLoad()
    const tracks = cam.tracker.flush()
    const p: Promise<void> = cam.persist
      .then(() => Promise.all(tracks.map((t) => this.finishTrack(cam, t))))
      .then(
        () => undefined,
        (err: unknown) => this.log.error({ cameraId }, `finishing tracks failed: ${(err as Error).message}`)
      )
      .finally(() => this.inflight.delete(p))
    this.inflight.add(p)
  }

  stats(): LiveStats[] {
    return [...this.cams.values()].map((c) => ({
      cameraId: c.cameraId,
      frames: c.frames,
      faces: c.faces,
      busyDrops: c.busyDrops,
      staleDrops: c.staleDrops,
      modelMs: c.modelMs,
      latencies: [...c.latencies]
    }))
  }

  resetStats(): void {
    for (const c of this.cams.values()) {
      c.latencies = []
      c.frames = 0
      c.busyDrops = 0
      c.staleDrops = 0
      c.faces = 0
      c.modelMs = 0
    }
  }

  /** Waits for frames in work (shutdown). */
  async drain(): Promise<void> {
    if (this.loadTimer) clearInterval(this.loadTimer)
    this.loadTimer = null
    await Promise.allSettled([...this.inflight])
    await Promise.allSettled([...this.cams.values()].map((c) => c.persist))
  }

  private cam(cameraId: string): CameraState {
    let c = this.cams.get(cameraId)
    if (!c) {
      const gen = nextGeneration++
      c = {
        cameraId,
        gen,
        tracker: new FaceTracker<FrameRef>(cameraId),
        decider: new TrackDecider({
          minEmbeddingsForReview: this.o.minEmbeddingsForEvent,
          rejected: ({ trackId, personId, embedding }) =>
            this.o.review.isRejected(cameraId, storedTrackId(gen, trackId), personId) ||
            (this.o.memory?.isRejected(personId, embedding) ?? false),
          queueGate: (quality) => this.o.gallery.enrolQualityOk({ score: quality })
        }),
        scene: null,
        tracks: new Map(),
        busy: false,
        persist: Promise.resolve(),
        pendingPersist: 0,
        overlays: new Map(),
        latencies: [],
        frames: 0,
        busyDrops: 0,
        faces: 0,
        modelMs: 0,
        staleDrops: 0,
        source: null,
        offered: new RateMeter(LOAD_WINDOW_MS),
        analysed: new RateMeter(LOAD_WINDOW_MS),
        overloaded: false
      }
      this.cams.set(cameraId, c)
    }
    return c
  }

  private async process(cam: CameraState, frame: CameraFrame): Promise<void> {
    const at = frame.at
    // A shot cut puts other people where the old boxes were: every track ends (its events close)
    // and every face is embedded afresh. A smaller jump only drops the embedding skip, so the
    // tracker's appearance veto decides whether each face is still the track's.
    const sig = frameSignature(frame.image)
    const change = cam.scene ? classifySceneChange(signatureDistance(cam.scene, sig)) : 'none'
    cam.scene = sig
    const cutEnded = change === 'cut' ? cam.tracker.flush() : []
    // only tracks that are due get a new embedding; new faces (near no track) always do
    const skipEmbedNear = change === 'none' ? this.embedSkips(cam.tracker, at) : []
    const minFace = Math.max(8, (this.o.minFaceSize?.(cam.cameraId) ?? 24) / frame.scale)
    let res: AnalyzeResult
    try {
      res = await this.o.analyzer.analyzeRaw(frame.image, {
        embed: true,
        minFaceSize: minFace,
        skipEmbedNear,
        tiles: this.o.detectTiles?.(cam.cameraId) ?? 1
      })
    } catch (err) {
      if (err instanceof ApiError && err.code === 'busy') {
        cam.busyDrops++
        // persistLater logs its own failures
        if (cutEnded.length) void this.persistLater(cam, [], cutEnded)
        return
      }
      throw err
    }
    // stopped while this frame was analysed: its tracks are already finished
    if (this.cams.get(cam.cameraId) !== cam) return
    cam.frames++
    cam.faces += res.faces.length
    cam.modelMs += res.modelMs
    cam.analysed.add(Date.now())
    const refs = res.faces.map((f) =>
      f.embedding ? { image: frame.image, box: f.box, scale: frame.scale, at } : undefined
    )
    const upd = cam.tracker.update(res.faces, at, refs)
    const thresholds = this.o.settings().thresholds
    const matcher = this.o.gallery.matcher()
    const match = (e: Float32Array): MatchResult => matcher.match(e, thresholds, 3)

    const plans: PlannedWrite[] = []
    const decidedNow = new Set<string>()
    res.faces.forEach((f, i) => {
      const track = upd.assigned[i]
      if (!track || !f.embedding || decidedNow.has(track.id)) return
      decidedNow.add(track.id)
      const r = cam.decider.observe(track, match, at)
      if (!r) return
      if (r.decision.band === 'match') cam.tracker.markDecided(track.id)
      if (r.plan) plans.push({ track, plan: r.plan, at })
    })

    // the decision is made: what follows (JPEG crops, durable event writes) must not hold up the
    // camera's next frame, so it runs on a per-camera chain that keeps the writes in frame order
    const lat = Date.now() - at
    cam.latencies.push(lat)
    if (cam.latencies.length > LATENCY_WINDOW) cam.latencies.splice(0, cam.latencies.length - LATENCY_WINDOW)
    this.emitOverlay(cam, frame, upd.active, upd.at)

    const ended = [...cutEnded, ...upd.ended]
    if (plans.length === 0 && ended.length === 0) return
    const run = this.persistLater(cam, plans, ended)
    // a store slower than the camera: wait here rather than queue without bound
    if (cam.pendingPersist > MAX_PENDING_PERSIST) await run
  }

  /**
   * Boxes whose faces need no new embedding yet: tracks not due, unless another track is close
   * by. Near a crossing, overlap cannot tell the two faces apart, so both are embedded and the
   * appearance veto keeps each name on its own face.
   */
  private embedSkips(tracker: FaceTracker<FrameRef>, at: number): Box[] {
    const active = tracker.active()
    return active
      .filter((t) => !tracker.shouldEmbed(t, at))
      .filter((t) => !active.some((o) => o.id !== t.id && iou(expand(o.box, 0.5), expand(t.box, 0.5)) > 0))
      .map((t) => t.box)
  }

  private persistLater(
    cam: CameraState,
    plans: readonly PlannedWrite[],
    ended: readonly Track<FrameRef>[]
  ): Promise<void> {
    cam.pendingPersist++
    const run = cam.persist.then(async () => {
      try {
        await Promise.all([
          ...plans.map(({ track, plan, at }) => this.write(cam, track, plan, at)),
          ...ended.map((t) => this.finishTrack(cam, t))
        ])
      } catch (err) {
        this.log.error({ cameraId: cam.cameraId }, `storing decisions failed: ${(err as Error).message}`)
      } finally {
        cam.pendingPersist--
      }
    })
    cam.persist = run
    return run
  }

  private trackState(cam: CameraState, trackId: string): TrackState {
    let st = cam.tracks.get(trackId)
    if (!st) {
      st = { lastInput: new Map() }
      cam.tracks.set(trackId, st)
    }
    return st
  }

  /** Stores what the decider planned: the event (with crop and snapshot when better) and the review item. */
  private async write(cam: CameraState, track: Track<FrameRef>, plan: WritePlan, at: number): Promise<void> {
    const st = this.trackState(cam, track.id)
    const { verdict: v, key } = plan
    const trackId = storedTrackId(cam.gen, track.id)
    const best = track.evidence.find((e) => e.ref && e.embedding)
    const ref = best?.ref
    try {
      const images = ref && plan.improved ? await faceImages(ref, v.band) : null
      // The box of the frame the snapshot is cut from, not where the track is now: the face has
      // usually moved since its best frame, and the console draws this box over that snapshot.
      const srcBox = scaleBox(ref?.box ?? track.box, ref?.scale ?? 1)
      const input: TrackEventInput = {
        cameraId: cam.cameraId,
        trackId,
        band: v.band,
        personId: v.personId,
        personName: v.personName,
        score: v.score,
        box: srcBox,
        at,
        decision: plan.decision
      }
      const { event } = await this.o.events.upsertTrackEvent({ ...input, ...images })
      if (images) cam.decider.stored(track.id, key, v.score)
      st.lastInput.set(key, input)
      if (!plan.queue || !v.personId || !ref || !best?.embedding) return
      try {
        const { crop, snapshot } = images ?? (await faceImages(ref, v.band))
        // the queue links the event to its item (reviewItemId, pending) itself
        await this.o.review.enqueue({
          eventId: event.id,
          cameraId: cam.cameraId,
          trackId,
          candidates: plan.candidates,
          personId: v.personId,
          box: srcBox,
          crop,
          snapshot,
          cropQuality: best.quality as FaceQuality,
          cropEmbedding: best.embedding
        })
      } catch (err) {
        cam.decider.queueFailed(track.id, v.personId)
        throw err
      }
    } catch (err) {
      if (!st.lastInput.has(key)) cam.decider.writeFailed(track.id, key)
      throw err
    }
  }

  private async finishTrack(cam: CameraState, t: Track<FrameRef>): Promise<void> {
    const st = cam.tracks.get(t.id)
    cam.tracks.delete(t.id)
    cam.overlays.delete(t.id)
    const { close, plan, last } = cam.decider.finish(t)
    if (last) await this.recordSighting(cam, t, last.decision.pooled, last.verdict)
    if (close.length && st) {
      // each event of the track closes at its last sighting ("in view" = first to last seen),
      // whatever the last frame's decision was; no new event is opened on the way out
      await Promise.all(
        close.flatMap((key) => {
          const input = st.lastInput.get(key)
          return input ? [this.o.events.upsertTrackEvent({ ...input, at: t.lastSeen })] : []
        })
      ).catch((err: unknown) =>
        this.log.error({ cameraId: cam.cameraId }, `closing events failed: ${(err as Error).message}`)
      )
      for (const l of this.trackEndListeners) l(cam.cameraId, storedTrackId(cam.gen, t.id))
      return
    }
    if (!plan) return
    const wrote = await this.write(cam, t, plan, t.lastSeen).then(
      () => true,
      (err: unknown) => {
        this.log.error({ cameraId: cam.cameraId }, `finishing track failed: ${(err as Error).message}`)
        return false
      }
    )
    cam.tracks.delete(t.id)
    if (wrote) for (const l of this.trackEndListeners) l(cam.cameraId, storedTrackId(cam.gen, t.id))
  }

  private async recordSighting(
    cam: CameraState,
    t: Track<FrameRef>,
    embedding: Float32Array,
    v: { band: Band; personId: string | null; score: number }
  ): Promise<void> {
    if (!this.o.memory) return
    const best = t.evidence.find((e) => e.ref && e.embedding)
    try {
      const crop = best?.ref
        ? await encodeJpeg(best.ref.image, { crop: expand(best.ref.box, CROP_MARGIN), quality: 85 })
        : null
      await this.o.memory.record({
        cameraId: cam.cameraId,
        trackId: storedTrackId(cam.gen, t.id),
        firstSeen: t.firstSeen,
        lastSeen: t.lastSeen,
        embedding,
        quality: best?.quality.score ?? 0,
        qualityDetail: best ? { ...best.quality } : null,
        crop,
        band: v.band,
        personId: v.personId,
        score: v.score
      })
    } catch (err) {
      this.log.error({ cameraId: cam.cameraId }, `sighting not stored: ${(err as Error).message}`)
    }
  }

  private emitOverlay(cam: CameraState, frame: CameraFrame, active: readonly Track<FrameRef>[], seenAt: number): void {
    const tracks: TrackOverlay[] = []
    for (const t of active) {
      // the tracker's clock (upd.at) never steps back; frame.at may, after an NTP correction
      if (t.lastSeen !== seenAt || !t.confirmed) continue
      const label = cam.decider.label(t)
      tracks.push({ trackId: t.id, box: scaleBox(t.box, frame.scale), ...label })
    }
    const o: FrameOverlay = {
      cameraId: cam.cameraId,
      at: frame.at,
      width: Math.round(frame.image.width * frame.scale),
      height: Math.round(frame.image.height * frame.scale),
      tracks
    }
    for (const l of this.overlayListeners) l(o)
  }
}

/**
 * Tracker ids restart with the app and with each camera restart (a new tracker); stored events and
 * rejections need them unique, so the run and the camera state's generation are part of the id.
 */
const storedTrackId = (gen: number, id: string): string => (gen === 0 ? `${RUN_TAG}-${id}` : `${RUN_TAG}.${gen}-${id}`)

let nextGeneration = 0

/** The face crop (with margin) and the frame snapshot with the box in the band's colour. */
async function faceImages(ref: FrameRef, band: Band): Promise<{ crop: Buffer; snapshot: Buffer }> {
  const [crop, snapshot] = await Promise.all([
    encodeJpeg(ref.image, { crop: expand(ref.box, CROP_MARGIN), quality: 85 }),
    encodeJpeg(ref.image, { box: ref.box, quality: 75, color: colorOf(band) })
  ])
  return { crop, snapshot }
}

export function scaleBox(b: Box, s: number): Box {
  return { x: b.x * s, y: b.y * s, w: b.w * s, h: b.h * s }
}

export function expand(b: Box, margin: number): Box {
  return { x: b.x - b.w * margin, y: b.y - b.h * margin, w: b.w * (1 + 2 * margin), h: b.h * (1 + 2 * margin) }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}

function colorOf(band: Band): readonly [number, number, number] {
  return hexToRgb(BAND_HEX[band])
}
