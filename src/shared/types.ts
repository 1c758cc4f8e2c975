// Domain types shared by main, preload and renderer. No Node or Electron imports here:
// the renderer bundles this file too.

/** Box in source-image pixels, top-left origin. */
export interface Box {
  x: number
  y: number
  w: number
  h: number
}

export interface Point {
  x: number
  y: number
}

/** The three outcomes of matching against the gallery. */
export type Band = 'match' | 'review' | 'unknown'

export type ExecutionProvider = 'cuda' | 'dml' | 'coreml' | 'cpu'

export interface FaceQuality {
  /** shorter side of the detector box, px */
  sizePx: number
  detScore: number
  /** variance of the Laplacian on the aligned grey crop; higher = sharper */
  blur: number
  yawDeg: number
  pitchDeg: number
  /** 0..1 aggregate used for ranking crops and gating enrolment */
  score: number
}

export interface Candidate {
  personId: string
  name: string
  /** cosine similarity, -1..1 */
  score: number
}

export interface Person {
  id: string
  name: string
  notes: string
  /** per-person accept threshold; null = global */
  threshold: number | null
  createdAt: number
  updatedAt: number
  photos: ReferencePhoto[]
}

export interface ReferencePhoto {
  id: string
  personId: string
  /** media key, see MediaKey */
  media: MediaKey
  addedAt: number
  source: 'upload' | 'review'
  quality: FaceQuality
}

/** Relative path of a stored image below the data dir, e.g. "crops/2026-11-29/abc.jpg". */
export type MediaKey = string

export interface CameraConfig {
  id: string
  name: string
  /** may contain credentials: only ever sent to the UI redacted, see CameraView.urlRedacted */
  url: string
  /**
   * optional detect stream (usually the camera's sub-stream): analysed instead of `url`, while the
   * tile shows `url`. Same credential rules as `url`. Without it, `url` serves both roles.
   */
  detectUrl?: string | null
  enabled: boolean
  /** frames per second analysed (default 5) */
  detectFps: number
  /** frames are scaled down to this width for detection, px */
  maxDetectWidth: number
  /** faces smaller than this (shorter side, px in source frame) are ignored */
  minFaceSize: number
  /** local files only: restart at the end */
  loop: boolean
  /** gets twice the fair share of analysis when the engine is overloaded (default false) */
  important?: boolean
  /** hardware decoding: 'auto' (default) tries what ffmpeg finds and falls back to software */
  hwaccel?: 'off' | 'auto' | 'vaapi' | 'qsv' | 'cuda' | 'videotoolbox' | 'd3d11va'
  /** decode keyframes only: cheapest, for detect fps at or below the keyframe rate (slows the preview too) */
  keyframesOnly?: boolean
  /** small faces: also detect on n×n tiles of the frame (1 = off, default; 2–4), n² + 1 detector runs */
  detectTiles?: number
  /**
   * The Vigil instance that analyses this camera when several share one PostgreSQL (its
   * instanceId); absent = whichever instance has it configured.
   */
  instance?: string
}

export type CameraState = 'disabled' | 'connecting' | 'online' | 'offline' | 'error'

export interface CameraStatus {
  cameraId: string
  state: CameraState
  /** human reason for offline/error (auth failed, not found, timeout, …) */
  reason: string | null
  /** measured analysed frames per second */
  fps: number
  lastFrameAt: number | null
  width: number | null
  height: number | null
  restarts: number
  /** what decodes the stream: "h264 · software, 1 thread", "h264 · vaapi"; null until known */
  decoder?: string | null
}

/** Camera as the UI sees it: the URL never carries a password. */
export interface CameraView extends Omit<CameraConfig, 'url' | 'detectUrl'> {
  urlRedacted: string
  /** the detect stream's URL, redacted; null when the camera has one stream */
  detectUrlRedacted?: string | null
  status: CameraStatus
}

export interface TrackOverlay {
  trackId: string
  box: Box
  band: Band
  personId: string | null
  name: string | null
  /** pooled similarity 0..1 of the best candidate */
  score: number
}

/** Pushed to the UI for each analysed frame of a camera. */
export interface FrameOverlay {
  cameraId: string
  at: number
  width: number
  height: number
  tracks: TrackOverlay[]
}

/** Pushed a few times per second per camera for the tiles. */
/** Live video of a focused camera: fragmented MP4 (init segment + one fragment) for MSE. */
export interface VideoFrame {
  cameraId: string
  /** MSE type, e.g. 'video/mp4; codecs="avc1.640028"' */
  mime: string
  seq: number
  data: Uint8Array
}

export interface PreviewFrame {
  cameraId: string
  at: number
  /** JPEG bytes: a binary WebSocket frame in browser mode (preview-wire.ts), a Uint8Array over IPC */
  jpeg: Uint8Array
}

export type EventDecision = 'auto' | 'pending' | 'confirmed' | 'rejected' | 'reassigned'

export interface EventRecord {
  id: string
  cameraId: string
  trackId: string
  band: Band
  personId: string | null
  personName: string | null
  score: number
  decision: EventDecision
  startedAt: number
  updatedAt: number
  box: Box
  crop: MediaKey | null
  snapshot: MediaKey | null
  reviewItemId: string | null
}

export type ReviewStatus = 'pending' | 'confirmed' | 'rejected' | 'reassigned'
export type ReviewAction = 'confirm' | 'reject' | 'reassign' | 'newPerson'

export interface AuditEntry {
  at: number
  operator: string
  action: ReviewAction | 'undo'
  /** status and person before this decision */
  previous: { status: ReviewStatus; personId: string | null }
  next: { status: ReviewStatus; personId: string | null }
  addedPhotoId: string | null
}

export interface ReviewItem {
  id: string
  eventId: string
  cameraId: string
  trackId: string
  createdAt: number
  status: ReviewStatus
  /** increments on every decision; decide() must quote it (optimistic concurrency) */
  version: number
  candidates: Candidate[]
  personId: string | null
  box: Box
  crop: MediaKey
  snapshot: MediaKey
  cropQuality: FaceQuality
  decidedBy: string | null
  decidedAt: number | null
  audit: AuditEntry[]
  /** the stranger group of the face (face memory); items of one group are decided together */
  groupId?: string | null
  /** list({ byGroup }): pending items this card stands for, itself included */
  groupCount?: number
}

export interface Thresholds {
  /** similarity at or above: match */
  accept: number
  /** similarity at or above (and below accept): review; below: unknown */
  review: number
}

export interface Settings {
  thresholds: Thresholds
  retentionDays: number
  executionProvider: ExecutionProvider
  workers: number
  /** minimum quality score for a photo to enter the gallery */
  minEnrolQuality: number
  /**
   * absolute folders below which local video files may be used as cameras (default none); ignored
   * while browser mode is reachable off loopback
   */
  localVideoFolders: string[]
  /** cameras that may be configured at once (default 16) */
  maxCameras: number
}

export interface WorkerInfo {
  id: number
  pid: number | null
  /** what was asked for */
  requested: ExecutionProvider
  /** what the session actually got after fallback */
  provider: ExecutionProvider
  state: 'starting' | 'ready' | 'busy' | 'crashed' | 'stopped'
  jobsDone: number
}

/** How one camera's analysis keeps up with the frames its source offers. */
export interface CameraLoad {
  cameraId: string
  /** frames analysed per second, last few seconds */
  analysedFps: number
  /** frames the source offered per second (its detect fps when it keeps up) */
  offeredFps: number
  /** analysing clearly fewer frames than offered (fair share under overload) */
  overloaded: boolean
}

/** The live engine's load: "overloaded: analysing 2.1 of 5 fps" (means over the cameras). */
export interface LiveLoad {
  overloaded: boolean
  analysedFps: number
  offeredFps: number
  cameras: CameraLoad[]
}

/** A worker as clients see it: process ids stay on the server (they help a local attacker only). */
export type WorkerView = Omit<WorkerInfo, 'pid'>

/** Sent to every client: no file-system paths, no process ids. */
export interface SystemInfo {
  version: string
  mode: 'electron' | 'browser' | 'headless'
  workers: WorkerView[]
  queueDepth: number
  /**
   * the engine's log file relative to the data folder (e.g. "logs/vigil.log"), for bug reports; null
   * when logging to the console only. Never an absolute path: clients learn no paths of the server.
   */
  logFile: string | null
  load: LiveLoad
  /** this instance's name (cameras with another `instance` run elsewhere) */
  instanceId?: string
  /** where history, gallery and review live: the embedded SQLite file or a shared PostgreSQL */
  storage?: 'sqlite' | 'postgres'
}

export interface EnrolFace {
  box: Box
  quality: FaceQuality
}

export type EnrolErrorCode =
  'bad_image' | 'too_large' | 'no_face' | 'multiple_faces' | 'low_quality' | 'busy' | 'duplicate'

/** The photo was added, but its face matches another person better than the one it was added to. */
export interface EnrolWarning {
  personId: string
  name: string
  score: number
  message: string
}

export type EnrolResult =
  | { ok: true; photo: ReferencePhoto; warning?: EnrolWarning }
  | { ok: false; code: EnrolErrorCode; message: string; faces: EnrolFace[] }

export interface EventQuery {
  personId?: string
  /** with personId: also events where that person is only a guess (pending review) */
  includeUnconfirmed?: boolean
  cameraId?: string
  from?: number
  to?: number
  band?: Band
  decision?: EventDecision
  offset?: number
  limit?: number
}

export interface Page<T> {
  items: T[]
  total: number
  offset: number
  limit: number
}

export interface HourCount {
  cameraId: string
  /** epoch ms of the start of the hour */
  hour: number
  count: number
}

export interface EventStats {
  perHour: HourCount[]
  /** 20 bins over similarity 0..1 */
  confidenceHistogram: number[]
}

export interface CameraTestResult {
  ok: boolean
  width: number | null
  height: number | null
  /** data: URL of one frame */
  preview: string | null
  error: string | null
}

/** A stranger group of the face memory: faces nobody could name, seen again and again. */
export interface StrangerGroup {
  id: string
  /** finished tracks (sightings) that joined the group */
  visits: number
  firstSeen: number
  lastSeen: number
  cameras: string[]
  /** media key of the best crop, null before the first sighting */
  bestCrop: MediaKey | null
  /** quality 0..1 of that crop: below the enrolment gate, naming the group adds no photo */
  bestQuality: number
  status: 'active' | 'ignored'
}

/** One finished track as the face memory stored it. */
export interface Sighting {
  id: string
  cameraId: string
  firstSeen: number
  lastSeen: number
  crop: MediaKey | null
  /** the track's verdict: a guess when band is 'review' */
  band: Band
  personId: string | null
  score: number
  quality: number
  groupId: string | null
  /** search by face: cosine similarity to the query face */
  similarity?: number
}

export type GroupAction = 'newPerson' | 'addToPerson' | 'merge' | 'ignore' | 'unignore' | 'delete'

// ---- Alerts (src/main/alerts) ----

/**
 * Who a face rule fires for: named people (one person or a watch list), anybody known, any unknown
 * face, or a recurring stranger group (ids come from the face-memory work; until it lands no face
 * carries a group, so such a rule never fires).
 */
export type AlertWho =
  | { kind: 'people'; personIds: string[] }
  | { kind: 'anyKnown' }
  | { kind: 'unknown' }
  | { kind: 'strangerGroup'; groupIds: string[] }

/** Weekly window in the engine's local time; to < from wraps past midnight. */
export interface AlertSchedule {
  /** 0 = Sunday … 6 = Saturday */
  days: number[]
  /** 'HH:MM', inclusive */
  from: string
  /** 'HH:MM', exclusive */
  to: string
}

export interface AlertActions {
  console: boolean
  desktop: boolean
  sound: boolean
  /** webhook and MQTT targets (AlertTarget ids) */
  targetIds: string[]
}

export type AlertTrigger = 'face' | 'camera'

export interface AlertRule {
  id: string
  name: string
  enabled: boolean
  trigger: AlertTrigger
  /** face rules */
  who: AlertWho
  /** face rules: which bands fire (unknown faces are picked by who) */
  bands: ('match' | 'review')[]
  /** empty = every camera */
  cameraIds: string[]
  /** null = always */
  schedule: AlertSchedule | null
  /** face rules: a track raises at most one alert per this many seconds */
  cooldownSec: number
  /** camera rules: alert when a camera has been offline this long, s */
  offlineAfterSec: number
  /** camera rules: alert when an offline camera comes back */
  onOnline: boolean
  /** camera rules: alert when the engine reports overload */
  onOverload: boolean
  actions: AlertActions
  createdAt: number
  updatedAt: number
}

export type AlertRuleInput = Omit<AlertRule, 'id' | 'createdAt' | 'updatedAt'> & { id?: string }

export type AlertTargetKind = 'webhook' | 'mqtt'

/** A webhook or MQTT broker as the console sees it: secrets never leave the engine. */
export interface AlertTargetView {
  id: string
  name: string
  kind: AlertTargetKind
  enabled: boolean
  /** webhook: http(s) URL; mqtt: mqtt(s):// or ws(s):// broker URL (credentials redacted) */
  url: string
  /** webhook: HMAC key set */
  secretSet: boolean
  /** webhook: request timeout, ms */
  timeoutMs: number
  /** mqtt */
  username: string | null
  passwordSet: boolean
  /** mqtt: topic root (default 'vigil') */
  topicPrefix: string
  /** mqtt: publish Home Assistant discovery configs */
  haDiscovery: boolean
  /** mqtts: verify the broker certificate */
  rejectUnauthorized: boolean
  createdAt: number
  updatedAt: number
}

export interface AlertTargetInput {
  id?: string
  name: string
  kind: AlertTargetKind
  enabled: boolean
  url: string
  /** omitted on update = keep the stored one; '' = none */
  secret?: string
  timeoutMs?: number
  username?: string | null
  password?: string
  topicPrefix?: string
  haDiscovery?: boolean
  /** PEM of a private CA for mqtts */
  caPem?: string
  rejectUnauthorized?: boolean
}

export type AlertKind = 'face' | 'camera_offline' | 'camera_online' | 'engine_overloaded' | 'test'

export interface AlertRecord {
  id: string
  kind: AlertKind
  ruleId: string | null
  ruleName: string
  at: number
  cameraId: string | null
  cameraName: string | null
  eventId: string | null
  trackId: string | null
  personId: string | null
  personName: string | null
  band: Band | null
  score: number | null
  crop: MediaKey | null
  snapshot: MediaKey | null
  message: string
  /** what the console does with it */
  console: boolean
  desktop: boolean
  sound: boolean
  acknowledgedBy: string | null
  acknowledgedAt: number | null
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'
/** MQTT vigil/events types; a webhook sends only 'new' (and 'test') */
export type DeliveryMessage = 'new' | 'end' | 'test'

export interface DeliveryRecord {
  /** also the idempotency key the receiver sees */
  id: string
  alertId: string
  targetId: string
  targetName: string
  targetKind: AlertTargetKind
  message: DeliveryMessage
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: number | null
  lastError: string | null
  createdAt: number
  deliveredAt: number | null
}
