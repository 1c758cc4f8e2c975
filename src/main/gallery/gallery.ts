// People and their reference photos, and the matcher kept in step with them.
//
// The gallery lives in the SQL store (GalleryRepo); a copy of it is kept in memory for the matcher
// and for the many synchronous look-ups of the live pipeline. Every change validates first, writes
// the database, and only then changes the copy and the matcher: a failed write leaves the gallery
// exactly as it was (any file written for it is removed). Other instances sharing the database
// hear of a change through a notification and reload that one person.
import { randomUUID } from 'node:crypto'
import sharp from 'sharp'
import { ApiError, type AddPhotoInput, type PersonInput } from '../../shared/api'
import type {
  Box,
  EnrolFace,
  EnrolResult,
  EnrolWarning,
  FaceQuality,
  Person,
  ReferencePhoto,
  Settings
} from '../../shared/types'
import type { AnalyzeResult, Analyzer, DetectedFace, MatcherReference } from '../contracts'
import { MAX_PIXELS } from '../inference/image'
import { QUALITY_RAMPS } from '../inference/quality'
import type { Logger } from '../log/logger'
import { silentLogger } from '../log/logger'
import type { MediaStore } from '../store/media'
import {
  isUniqueViolation,
  nameKey,
  type GalleryRepo,
  type PersonWithPhotos,
  type PhotoRecord
} from '../store/repos/gallery'
import { Matcher, type MatcherOptions } from './matcher'
import { EMBEDDING_DIM, assertEmbedding } from './vectors'

export type GalleryMedia = Pick<MediaStore, 'put' | 'read' | 'remove'>
type StoredPerson = PersonWithPhotos
type StoredPhoto = PhotoRecord

export interface GalleryOptions {
  /** called after every successful change with the number of people (for the 'people.changed' push) */
  onChange?: (count: number) => void
  matcher?: MatcherOptions
  logger?: Logger
  /** tell other instances sharing the database that a person changed (payload: person id) */
  notify?: (personId: string) => Promise<void>
  /** embed the mirrored crop too when enrolling (default true: a one-off cost for a steadier reference) */
  flipAugment?: boolean
}

/** Same limit as the request schema: 40 MB of base64. */
export const MAX_UPLOAD_BYTES = 30 * 1024 * 1024
/** Longer side of the stored copy of an uploaded photo. */
export const STORED_PHOTO_MAX_SIDE = 1024
/**
 * Faces less than half the size of the largest one are background, not candidates for enrolment:
 * portraits often catch part of a bystander at the edge (LFW: a 40 px sliver next to an 88 px face),
 * and asking "which face?" for those would only annoy. Group photos have faces of similar size.
 */
export const BACKGROUND_FACE_RATIO = 0.5
/** Keep tiny faces in the analysis so they are reported as "too small" rather than "no face". */
const ENROL_MIN_FACE_PX = 16
/** embeddings of the same image decoded twice agree to float rounding; a re-encoded copy to ~0.99 */
const SAME_PHOTO_SIMILARITY = 0.995

function dotUnit(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}
const ENROL_MAX_FACES = 20
const MAX_NAME = 200
const MAX_NOTES = 5000

const notFound = (what: string): ApiError => new ApiError('not_found', what)
const invalid = (msg: string): ApiError => new ApiError('invalid_request', msg)

export function toPerson(p: StoredPerson): Person {
  return {
    id: p.id,
    name: p.name,
    notes: p.notes,
    threshold: p.threshold,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    photos: p.photos.map(toReferencePhoto)
  }
}

export function toReferencePhoto(ph: StoredPhoto): ReferencePhoto {
  return {
    id: ph.id,
    personId: ph.personId,
    media: ph.media,
    addedAt: ph.addedAt,
    source: ph.source,
    quality: ph.quality
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalid('name must be a string')
  const n = name.trim()
  if (n.length === 0) throw invalid('name must not be empty')
  if (n.length > MAX_NAME) throw invalid(`name is longer than ${MAX_NAME} characters`)
  return n
}

function checkNotes(notes: unknown): string {
  if (typeof notes !== 'string') throw invalid('notes must be a string')
  if (notes.length > MAX_NOTES) throw invalid(`notes are longer than ${MAX_NOTES} characters`)
  return notes
}

function checkThreshold(t: unknown): number | null {
  if (t === null) return null
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 1)
    throw invalid('threshold must be a number from 0 to 1, or null for the global one')
  return t
}

/**
 * Why a face failed the enrolment quality gate, in words an operator can act on. Names every factor
 * of the quality score that is weak (below half its range), or the weakest one if none is.
 */
export function qualityProblems(q: FaceQuality): string[] {
  const R = QUALITY_RAMPS
  const ramp = (v: number, lo: number, hi: number): number => Math.min(1, Math.max(0, (v - lo) / (hi - lo)))
  const factors: { value: number; text: string }[] = [
    {
      value: ramp(q.sizePx, R.sizePx[0], R.sizePx[1]),
      text: `the face is too small (${Math.round(q.sizePx)} px; ${R.sizePx[1]} px or more is best)`
    },
    {
      value: ramp(q.blur, R.blur[0], R.blur[1]),
      text: `the face is blurry (sharpness ${Math.round(q.blur)}; ${R.blur[1]} or more is sharp)`
    },
    {
      value:
        (1 - ramp(Math.abs(q.yawDeg), R.yaw[0], R.yaw[1])) * (1 - ramp(Math.abs(q.pitchDeg), R.pitch[0], R.pitch[1])),
      text: `the face is turned away (yaw ${Math.round(q.yawDeg)}°, pitch ${Math.round(q.pitchDeg)}°; a frontal face is best)`
    },
    {
      value: ramp(q.detScore, R.detScore[0], R.detScore[1]),
      text: `the face is hard to make out (detector confidence ${q.detScore.toFixed(2)})`
    }
  ]
  const weak = factors.filter((f) => f.value < 0.5).sort((a, b) => a.value - b.value)
  if (weak.length > 0) return weak.map((f) => f.text)
  const weakest = factors.reduce((a, b) => (b.value < a.value ? b : a))
  return [weakest.text]
}

function enrolFace(f: DetectedFace): EnrolFace {
  return { box: f.box, quality: f.quality }
}

const fail = (
  code: Exclude<EnrolResult, { ok: true }>['code'],
  message: string,
  faces: EnrolFace[] = []
): EnrolResult => ({
  ok: false,
  code,
  message,
  faces
})

/** base64 of the request, tolerating a data: URL prefix; null when it is not base64 at all. */
function decodeUpload(dataBase64: string): Buffer | null {
  const s = dataBase64.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '')
  if (s.length === 0 || s.length % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return null
  return Buffer.from(s, 'base64')
}

/** Share of box a's area that lies inside box b. */
export function containedFraction(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y)
  if (w <= 0 || h <= 0 || a.w <= 0 || a.h <= 0) return 0
  return (w * h) / (a.w * a.h)
}

/**
 * Faces worth offering for enrolment, largest first, then left to right. Dropped: background faces
 * (see BACKGROUND_FACE_RATIO) and boxes lying mostly inside a larger face, which are detector echoes
 * of that face (seen on gallery-bbt: a 60 px box inside the 115 px face, which NMS keeps because
 * their IoU is small), not a second person.
 */
export function enrolCandidates(faces: readonly DetectedFace[]): DetectedFace[] {
  if (faces.length === 0) return []
  const side = (b: Box): number => Math.min(b.w, b.h)
  const sorted = [...faces].sort((a, b) => side(b.box) - side(a.box) || a.box.x - b.box.x)
  const largest = side(sorted[0].box)
  const kept: DetectedFace[] = []
  for (const f of sorted) {
    if (side(f.box) < BACKGROUND_FACE_RATIO * largest) continue
    if (kept.some((k) => containedFraction(f.box, k.box) >= 0.5)) continue
    kept.push(f)
  }
  return kept
}

export class Gallery {
  private readonly m: Matcher
  private readonly onChange?: (count: number) => void
  private readonly log: Logger
  private readonly flip: boolean
  private readonly notifyOthers?: (personId: string) => Promise<void>
  /** in-memory copy of the database's people, in creation order */
  private readonly people = new Map<string, StoredPerson>()
  /** gallery changes run one at a time: a check and its write cannot interleave with another's */
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly repo: GalleryRepo,
    private readonly media: GalleryMedia,
    private readonly analyzer: Analyzer,
    private readonly getSettings: () => Settings,
    opts: GalleryOptions = {}
  ) {
    this.onChange = opts.onChange
    this.log = opts.logger ?? silentLogger
    this.flip = opts.flipAugment ?? true
    this.notifyOthers = opts.notify
    this.m = new Matcher(opts.matcher)
  }

  /** Reads every person and photo from the database and builds the matcher (start-up). */
  async load(): Promise<void> {
    const all = await this.repo.loadAll()
    this.people.clear()
    for (const p of all) this.people.set(p.id, p)
    this.rebuildMatcher()
  }

  /**
   * Notifications from other instances may have been missed (the LISTEN connection was down):
   * re-read everyone, in turn with local changes so none of them is overwritten by a stale read.
   */
  reloadAll(): Promise<void> {
    return this.serial(() => this.load())
  }

  /**
   * Another instance changed this person (or deleted them): re-read that one person and bring the
   * copy and the matcher in step. Unknown ids are simply loaded.
   */
  async reloadPerson(id: string): Promise<void> {
    await this.serial(async () => {
      const fresh = await this.repo.load(id)
      this.m.removePerson(id)
      if (!fresh) {
        if (this.people.delete(id)) this.changed()
        return
      }
      this.people.set(id, fresh)
      for (const ref of this.referencesOf(fresh, new Set())) this.m.addReference(ref)
      this.changed()
    })
  }

  /** The matcher over all reference photos; the same instance stays current across changes. */
  matcher(): Matcher {
    return this.m
  }

  /** Rebuilds the matcher from the in-memory copy. */
  rebuildMatcher(): void {
    const refs: MatcherReference[] = []
    const seen = new Set<string>()
    for (const p of this.people.values()) refs.push(...this.referencesOf(p, seen))
    this.m.setReferences(refs)
  }

  private referencesOf(p: StoredPerson, seen: Set<string>): MatcherReference[] {
    const refs: MatcherReference[] = []
    let threshold = p.threshold
    if (threshold !== null && !(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) {
      this.log.warn(
        { personId: p.id },
        `gallery: ${p.name} has an invalid threshold ${String(threshold)}; the global one applies`
      )
      threshold = null
    }
    for (const ph of p.photos) {
      // one damaged record must not take the whole gallery down; the photo stays listed
      if (seen.has(ph.id)) {
        this.log.warn(
          { photoId: ph.id },
          `gallery: photo id ${ph.id} appears twice; the copy of ${p.name} is not matched`
        )
        continue
      }
      try {
        assertEmbedding(ph.embedding, EMBEDDING_DIM)
        refs.push({ personId: p.id, name: p.name, photoId: ph.id, embedding: ph.embedding, threshold })
        seen.add(ph.id)
      } catch (e) {
        this.log.warn(
          { photoId: ph.id },
          `gallery: photo ${ph.id} of ${p.name} has an unusable embedding and is not matched: ${(e as Error).message}`
        )
      }
    }
    return refs
  }

  list(): Person[] {
    return [...this.people.values()]
      .map(toPerson)
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  }

  get count(): number {
    return this.people.size
  }

  get(id: string): Person {
    return toPerson(this.stored(id))
  }

  find(id: string): Person | null {
    const p = this.people.get(id)
    return p ? toPerson(p) : null
  }

  create(input: PersonInput): Promise<Person> {
    return this.serial(async () => {
      const name = checkName(input?.name)
      const notes = input.notes === undefined ? '' : checkNotes(input.notes)
      const threshold = input.threshold === undefined ? null : checkThreshold(input.threshold)
      this.assertNameFree(name, null)
      const now = Date.now()
      const person: StoredPerson = {
        id: randomUUID(),
        name,
        notes,
        threshold,
        createdAt: now,
        updatedAt: now,
        photos: []
      }
      await this.uniqueName(name, () => this.repo.insertPerson(person))
      this.people.set(person.id, person)
      this.changed(person.id)
      return toPerson(person)
    })
  }

  update(id: string, patch: Partial<PersonInput>): Promise<Person> {
    return this.serial(async () => {
      const name = patch.name === undefined ? undefined : checkName(patch.name)
      const notes = patch.notes === undefined ? undefined : checkNotes(patch.notes)
      const threshold = patch.threshold === undefined ? undefined : checkThreshold(patch.threshold)
      const cur = this.stored(id)
      if (name !== undefined) this.assertNameFree(name, id)
      const next: StoredPerson = {
        ...cur,
        name: name ?? cur.name,
        notes: notes ?? cur.notes,
        threshold: threshold !== undefined ? threshold : cur.threshold,
        updatedAt: Date.now()
      }
      const found = await this.uniqueName(next.name, () => this.repo.updatePerson(next))
      if (!found) {
        this.people.delete(id)
        this.m.removePerson(id)
        throw notFound(`person ${id} does not exist`)
      }
      this.people.set(id, next)
      this.m.updatePerson(id, { name: next.name, threshold: next.threshold })
      this.changed(id)
      return toPerson(next)
    })
  }

  /** Removes the person and their photo files. Events keep the name they were recorded with. */
  delete(id: string): Promise<{ deleted: true }> {
    return this.serial(async () => {
      const gone = this.stored(id)
      await this.repo.deletePerson(id)
      this.people.delete(id)
      this.m.removePerson(id)
      this.changed(id)
      for (const ph of gone.photos) await this.removeFile(ph.media)
      return { deleted: true as const }
    })
  }

  /**
   * Enrols a face from an uploaded photo. Problems with the photo come back as EnrolResult errors
   * (the UI shows them and, for several faces, asks which one); an unknown person throws not_found.
   */
  async addPhoto(input: AddPhotoInput): Promise<EnrolResult> {
    this.stored(input.personId)
    const bytes = decodeUpload(typeof input.dataBase64 === 'string' ? input.dataBase64 : '')
    if (!bytes || bytes.length === 0)
      return fail('bad_image', `${input.fileName || 'the upload'} is empty or not base64-encoded image data`)
    if (bytes.length > MAX_UPLOAD_BYTES) {
      return fail(
        'too_large',
        `${input.fileName || 'the image'} is ${(bytes.length / 1048576).toFixed(1)} MB; the limit is ${MAX_UPLOAD_BYTES / 1048576} MB`
      )
    }

    let analysis: AnalyzeResult
    try {
      analysis = await this.analyzer.analyzeEncoded(bytes, {
        embed: true,
        minFaceSize: ENROL_MIN_FACE_PX,
        maxFaces: ENROL_MAX_FACES,
        flipAugment: this.flip
      })
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'bad_image' || e.code === 'too_large' || e.code === 'busy')) {
        const msg =
          e.code === 'busy'
            ? 'face analysis is busy with camera frames; try again in a moment'
            : `${input.fileName ? `${input.fileName}: ` : ''}${e.message}`
        return fail(e.code, msg)
      }
      throw e
    }

    const faces = enrolCandidates(analysis.faces)
    const listed = faces.map(enrolFace)
    if (faces.length === 0) {
      return fail(
        'no_face',
        `no face found in ${input.fileName || 'the photo'}; use a photo where the face is clearly visible and at least ${ENROL_MIN_FACE_PX} px tall`
      )
    }
    let face: DetectedFace
    if (input.faceIndex !== undefined) {
      if (!Number.isInteger(input.faceIndex) || input.faceIndex < 0 || input.faceIndex >= faces.length) {
        return fail(
          'multiple_faces',
          `face ${input.faceIndex} does not exist: the photo has ${faces.length} face${faces.length === 1 ? '' : 's'} (0–${faces.length - 1})`,
          listed
        )
      }
      face = faces[input.faceIndex]
    } else if (faces.length > 1) {
      return fail('multiple_faces', `the photo shows ${faces.length} faces; choose which one is the person`, listed)
    } else {
      face = faces[0]
    }

    const min = this.getSettings().minEnrolQuality
    if (!face.embedding)
      return fail('low_quality', 'the face could not be measured for recognition; try a clearer photo', listed)
    if (face.quality.score < min) {
      return fail(
        'low_quality',
        `photo quality ${face.quality.score.toFixed(2)} is below the minimum ${min.toFixed(2)}: ${qualityProblems(face.quality).join('; ')}`,
        listed
      )
    }

    // the identical file (or an identical copy) twice adds nothing but weight to one pose
    const target = this.stored(input.personId)
    for (const ph of target.photos) {
      try {
        assertEmbedding(ph.embedding, EMBEDDING_DIM)
        if (dotUnit(ph.embedding, face.embedding) >= SAME_PHOTO_SIMILARITY) {
          return fail(
            'duplicate',
            `${input.fileName || 'this photo'} is already one of ${target.name}'s photos`,
            listed
          )
        }
      } catch {
        // an unusable stored embedding is reported when the matcher is built; it cannot be a duplicate
      }
    }
    const warning = this.lookalike(input.personId, face.embedding)

    let jpeg: Buffer
    try {
      jpeg = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
        .rotate()
        .resize({
          width: STORED_PHOTO_MAX_SIDE,
          height: STORED_PHOTO_MAX_SIDE,
          fit: 'inside',
          withoutEnlargement: true
        })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 90 })
        .toBuffer()
    } catch (e) {
      return fail(
        'bad_image',
        `${input.fileName || 'the photo'} could not be re-encoded for storage: ${(e as Error).message}`,
        listed
      )
    }
    const photo = await this.storePhoto(input.personId, jpeg, face.embedding, face.quality, 'upload')
    return warning ? { ok: true, photo, warning } : { ok: true, photo }
  }

  /**
   * Another person this face matches better than the target (at least at the review threshold):
   * a photo of Sheldon added to Leonard would teach the matcher to call Sheldon Leonard.
   */
  private lookalike(personId: string, embedding: Float32Array): EnrolWarning | null {
    const r = this.m.match(embedding, this.getSettings().thresholds, 3)
    const best = r.candidates[0]
    if (!best || best.personId === personId || best.score < this.getSettings().thresholds.review) return null
    const own = r.candidates.find((c) => c.personId === personId)?.score ?? -1
    if (own >= best.score) return null
    return {
      personId: best.personId,
      name: best.name,
      score: best.score,
      message: `looks like ${best.name}, ${Math.round(best.score * 100)} %`
    }
  }

  /** The enrolment quality gate (settings.minEnrolQuality), shared with the review queue. */
  enrolQualityOk(q: Pick<FaceQuality, 'score'>): boolean {
    return Number.isFinite(q?.score) && q.score >= this.getSettings().minEnrolQuality
  }

  /** A face crop confirmed by an operator becomes a reference photo (the caller checks its quality). */
  async addReferenceFromCrop(
    personId: string,
    crop: { jpeg: Buffer; embedding: Float32Array; quality: FaceQuality },
    source: 'upload' | 'review' = 'review'
  ): Promise<ReferencePhoto> {
    this.stored(personId)
    try {
      assertEmbedding(crop.embedding, EMBEDDING_DIM)
    } catch (e) {
      throw invalid(`crop embedding: ${(e as Error).message}`)
    }
    return this.storePhoto(personId, crop.jpeg, crop.embedding, crop.quality, source)
  }

  removePhoto(personId: string, photoId: string): Promise<Person> {
    return this.serial(async () => {
      const person = this.stored(personId)
      const gone = person.photos.find((ph) => ph.id === photoId)
      if (!gone) throw notFound(`photo ${photoId} of person ${person.name} does not exist`)
      const next: StoredPerson = { ...person, photos: person.photos.filter((ph) => ph !== gone), updatedAt: Date.now() }
      if (!(await this.repo.deletePhoto(personId, photoId, next.updatedAt))) {
        throw notFound(`photo ${photoId} of person ${person.name} does not exist`)
      }
      this.people.set(personId, next)
      this.m.removePhoto(photoId)
      this.changed(personId)
      await this.removeFile(gone.media)
      return toPerson(next)
    })
  }

  private async storePhoto(
    personId: string,
    jpeg: Buffer,
    embedding: Float32Array,
    quality: FaceQuality,
    source: 'upload' | 'review'
  ): Promise<ReferencePhoto> {
    const key = await this.media.put('photos', jpeg)
    try {
      return await this.serial(async () => {
        // the person may have been deleted while the photo was being analysed
        const person = this.stored(personId)
        const photo: StoredPhoto = {
          id: randomUUID(),
          personId,
          media: key,
          addedAt: Date.now(),
          source,
          quality,
          embedding: Float32Array.from(embedding)
        }
        try {
          await this.repo.insertPhoto(photo, photo.addedAt)
        } catch (e) {
          if ((e as { code?: unknown }).code === 'not_found') throw notFound(`person ${personId} does not exist`)
          throw e
        }
        this.people.set(personId, { ...person, photos: [...person.photos, photo], updatedAt: photo.addedAt })
        this.m.addReference({
          personId,
          name: person.name,
          photoId: photo.id,
          embedding: photo.embedding,
          threshold: person.threshold
        })
        this.changed(personId)
        return toReferencePhoto(photo)
      })
    } catch (e) {
      await this.removeFile(key)
      throw e
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }

  /** A name taken meanwhile by another instance comes back as the same 'conflict' as a local one. */
  private async uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (e) {
      if (isUniqueViolation(e)) throw new ApiError('conflict', `a person named "${name}" already exists`)
      throw e
    }
  }

  private stored(id: string): StoredPerson {
    const p = this.people.get(id)
    if (!p) throw notFound(`person ${id} does not exist`)
    return p
  }

  private assertNameFree(name: string, selfId: string | null): void {
    const key = nameKey(name)
    for (const p of this.people.values()) {
      if (p.id !== selfId && nameKey(p.name) === key)
        throw new ApiError('conflict', `a person named "${p.name}" already exists`, { personId: p.id })
    }
  }

  private async removeFile(key: string): Promise<void> {
    try {
      await this.media.remove(key)
    } catch (e) {
      // the record is gone already; a leftover file is only wasted space
      this.log.warn({ key }, `gallery: could not remove ${key}: ${(e as Error).message}`)
    }
  }

  private changed(personId?: string): void {
    if (personId !== undefined && this.notifyOthers) {
      this.notifyOthers(personId).catch((e: unknown) =>
        this.log.warn({ personId }, `gallery: could not notify other instances: ${String(e)}`)
      )
    }
    try {
      this.onChange?.(this.people.size)
    } catch (e) {
      this.log.warn(`gallery: onChange listener failed: ${(e as Error).message}`)
    }
  }
}
