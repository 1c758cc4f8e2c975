// Shape of the lowdb document (db.json in the data dir). Images are files beside it (see media.ts),
// never inside the JSON. Embeddings are stored as base64 of a little-endian Float32Array so a
// 512-d vector costs ~2.7 kB of JSON instead of ~10 kB of decimal text.
import type { CameraConfig, EventRecord, FaceQuality, Person, ReviewItem, Settings } from '../../shared/types'

export interface StoredPhoto {
  id: string
  personId: string
  media: string
  addedAt: number
  source: 'upload' | 'review'
  quality: FaceQuality
  /** base64 Float32Array(512), L2-normalised */
  embedding: string
}

export type StoredPerson = Omit<Person, 'photos'> & { photos: StoredPhoto[] }

/** "this track is not that person": keeps a rejected track from being queued again for the same person */
export interface Rejection {
  cameraId: string
  trackId: string
  personId: string
  at: number
  operator: string
}

/** A review item as stored: the API shape plus the crop's embedding, which never goes to the UI. */
export interface StoredReviewItem extends ReviewItem {
  /** base64 Float32Array(512) of the crop, so a confirm can add the crop to the gallery */
  cropEmbedding?: string
}

/**
 * A camera as stored: when its URL carries credentials, `url` holds the redacted form and
 * `urlSealed` the full URL encrypted by the SecretBox (see store/secret-box.ts).
 */
export type StoredCamera = CameraConfig & { urlSealed?: string; detectUrlSealed?: string }

export interface DbSchema {
  schemaVersion: 1
  people: StoredPerson[]
  cameras: StoredCamera[]
  events: EventRecord[]
  review: StoredReviewItem[]
  rejections: Rejection[]
  settings: Settings
}

export const DEFAULT_SETTINGS: Settings = {
  // Calibrated on lfw-subset (README "Thresholds"): impostor pairs max 0.312 (p99.9 0.301), genuine
  // p1 0.456. Accept sits well above every impostor; review catches the weak genuine tail.
  thresholds: { accept: 0.4, review: 0.3 },
  retentionDays: 30,
  executionProvider: 'cpu',
  workers: 2,
  minEnrolQuality: 0.3,
  // local files are a testing aid; an admin opts in per folder (README "Security")
  localVideoFolders: [],
  maxCameras: 16
}

export function emptyDb(): DbSchema {
  return {
    schemaVersion: 1,
    people: [],
    cameras: [],
    events: [],
    review: [],
    rejections: [],
    settings: structuredClone(DEFAULT_SETTINGS)
  }
}
