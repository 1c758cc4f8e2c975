// Interfaces between the boxes of the engine (inference, gallery, cameras, tracking, review, events,
// store). Each box implements its side in its own folder; src/main/app wires them together.
// Plain Node: nothing here may import Electron.
import type { Band, Box, CameraConfig, CameraStatus, Candidate, FaceQuality, Point, WorkerInfo } from '../shared/types'
import type { Logger } from './log/logger'

/** Packed 8-bit RGB, row-major, width*height*3 bytes. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

export interface DetectedFace {
  /** in the coordinates of the analysed image */
  box: Box
  detScore: number
  /** left eye, right eye, nose, left mouth corner, right mouth corner (image left/right) */
  landmarks5: Point[]
  quality: FaceQuality
  /** 512-d, L2-normalised; null when embedding was not asked for or the face was filtered out */
  embedding: Float32Array | null
  /** aligned 112×112 RGB crop, only when AnalyzeOptions.returnCrops */
  alignedCrop?: RgbImage
}

export interface AnalyzeOptions {
  /** compute embeddings (default true) */
  embed?: boolean
  /** faces whose shorter box side is below this many px are dropped (default 20) */
  minFaceSize?: number
  /** keep at most this many faces, largest first */
  maxFaces?: number
  /** detector score threshold (default from pipeline) */
  scoreThreshold?: number
  /** also embed the mirrored crop and average (slower, a little more accurate) */
  flipAugment?: boolean
  returnCrops?: boolean
  /**
   * faces overlapping one of these boxes (IoU ≥ 0.5) are not embedded: the live tracker passes
   * the boxes of tracks that do not need a new embedding yet, so embedding cost per track is bounded
   */
  skipEmbedNear?: Box[]
  /**
   * detect also on n×n overlapping tiles of the image (default 1 = whole image only): finds faces
   * too small for the detector's 320×240 input in a large frame, at n² + 1 detector runs
   */
  tiles?: number
}

export type Stage = 'decode' | 'detect' | 'landmarks' | 'align' | 'embed' | 'quality'

export interface AnalyzeResult {
  width: number
  height: number
  faces: DetectedFace[]
  /** wall time per stage for this image, ms */
  timings: Partial<Record<Stage, number>>
  /** sum of onnxruntime session.run times, ms */
  modelMs: number
  workerId: number
}

/**
 * Implemented by the inference worker pool (and, in-process, by the pipeline itself).
 * analyzeEncoded: any common image format (EXIF orientation applied, > 40 MP refused).
 * analyzeRaw: already-decoded frames from cameras.
 * When the pool's bounded queue is full the promise rejects with ApiError('busy').
 */
export interface Analyzer {
  analyzeEncoded(bytes: Uint8Array, opts?: AnalyzeOptions): Promise<AnalyzeResult>
  analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult>
  workers(): WorkerInfo[]
  queueDepth(): number
  close(): Promise<void>
}

/** Gallery reference as the matcher sees it. */
export interface MatcherReference {
  personId: string
  name: string
  photoId: string
  embedding: Float32Array
  /** per-person accept threshold override */
  threshold: number | null
}

export interface MatchResult {
  band: Band
  /** best first, at most k */
  candidates: Candidate[]
  /** score of the best candidate, or 0 with an empty gallery */
  score: number
}

/** One frame of a camera, as delivered by the ingest (already scaled to maxDetectWidth). */
export interface CameraFrame {
  cameraId: string
  /** Date.now() when the frame was read from ffmpeg */
  at: number
  seq: number
  image: RgbImage
  /** scale from detection frame to source frame coordinates (source = frame * scale) */
  scale: number
}

export interface CameraSourceEvents {
  frame: (frame: CameraFrame) => void
  /** small JPEG for the tile, a few per second */
  preview: (cameraId: string, jpeg: Buffer, at: number) => void
  status: (status: CameraStatus) => void
}

export type { CameraConfig }

/** What src/main/app builds and both shells (Electron IPC, browser-mode WebSocket) serve. */
export interface VigilBackend {
  handlers: import('../shared/api').Handlers
  /** every push goes to every listener; returns unsubscribe */
  onPush<P extends import('../shared/api').PushChannel>(
    listener: (channel: P, payload: import('../shared/api').PushSpec[P]) => void
  ): () => void
  close(): Promise<void>
}

export interface BackendOptions {
  /** where settings.json, vigil.db (SQLite) and media/ live */
  dataDir: string
  /** database: postgres://… for several instances sharing one PostgreSQL; default VIGIL_DB, then settings.json, then SQLite in dataDir */
  db?: string
  modelsDir?: string
  mode: 'electron' | 'browser' | 'headless'
  /** Electron: run pool children with process.execPath + ELECTRON_RUN_AS_NODE */
  workerExecPath?: string
  /**
   * the API is reachable from other machines (browser mode off loopback): local video files are
   * then refused whatever Settings lists
   */
  exposed?: boolean
  /** encrypts camera credentials at rest (Electron: the OS keychain); default a key file in dataDir */
  secretBox?: import('./store/secret-box').SecretBox
  /**
   * The app's logger, passed on to every box as a child tagged { box }. Default: a pino logger on
   * the console and <dataDir>/logs/vigil.log, closed with the backend.
   */
  logger?: Logger
  /** where `logger` writes its file, shown in Settings (default: the default logger's file) */
  logFile?: string | null
}

/** The handlers of one box of the engine, e.g. HandlersFor<'people'> = every 'people.*' channel. */
export type HandlersFor<Prefix extends string> = Pick<
  import('../shared/api').Handlers,
  Extract<import('../shared/api').Channel, `${Prefix}.${string}`>
>
