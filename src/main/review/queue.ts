// The operator review queue: faces the matcher was unsure about wait here for a human decision.
//
// Calls are serialised (one at a time) so a decision's checks and its write cannot interleave with
// another's. Each decision first checks the version the operator saw (state.ts), then performs its
// gallery side effects (new person, reference photo), then writes the item with a conditional
// UPDATE (still pending, still that version): another instance sharing the database that decided
// first makes it fail with the same 'conflict' as a local race, and the side effects are reverted.
// The linked event follows the decision; an event already removed by retention does not block it.
// The items live in the database (ReviewRepo); only the rejections, read for every analysed face,
// are kept in memory and reloaded when another instance says they changed.
import { randomUUID } from 'node:crypto'
import { ApiError, type DecideInput } from '../../shared/api'
import type { Box, Candidate, EventRecord, FaceQuality, ReviewItem, ReviewStatus } from '../../shared/types'
import type { Gallery } from '../gallery/gallery'
import { EMBEDDING_DIM, assertEmbedding } from '../gallery/vectors'
import type { Logger } from '../log/logger'
import { silentLogger } from '../log/logger'
import type { MediaStore } from '../store/media'
import type { RejectionRecord, ReviewRecord, ReviewRepo } from '../store/repos/review'
import { applyDecision, applyUndo, assertDecidable, eventDecisionOf } from './state'
import { serial } from '../util/serial'

type StoredReviewItem = ReviewRecord
type Rejection = RejectionRecord
export type QueueMedia = Pick<MediaStore, 'put' | 'read' | 'remove'>
export type QueueGallery = Pick<
  Gallery,
  'find' | 'create' | 'delete' | 'addReferenceFromCrop' | 'removePhoto' | 'enrolQualityOk'
>
export type EventPatchLike = Partial<Pick<EventRecord, 'decision' | 'personId' | 'personName' | 'reviewItemId'>>
export interface QueueEvents {
  update(id: string, patch: EventPatchLike): Promise<unknown>
}

export interface EnqueueInput {
  eventId: string
  cameraId: string
  trackId: string
  candidates: Candidate[]
  /** the proposed person (normally the best candidate) */
  personId: string | null
  box: Box
  crop: Buffer
  snapshot: Buffer
  cropQuality: FaceQuality
  cropEmbedding: Float32Array
}

/** The face memory's side of the queue: rejections that last beyond one track (memory/face-memory.ts). */
export interface QueueMemory {
  isRejected(personId: string, embedding: Float32Array): boolean
  /** the stranger group of this face, made now if it has none */
  groupFor(embedding: Float32Array, quality: number): Promise<string>
  reject(input: { personId: string; embedding: Float32Array; operator: string; itemId: string }): Promise<unknown>
  undoRejection(itemId: string): Promise<unknown>
}

export interface QueueOptions {
  logger?: Logger
  /** tell other instances sharing the database that the queue or the rejections changed */
  notify?: (payload: string) => Promise<void>
  memory?: QueueMemory
  /** tests: a fixed clock */
  now?: () => number
}

const invalid = (msg: string): ApiError => new ApiError('invalid_request', msg)

/**
 * Pending items per stranger group at most: one face walking past for an hour is one question,
 * not hundreds. The group card shows the count; further sightings only count visits.
 */
export const MAX_PENDING_PER_GROUP = 5

/** Operator recorded for items resolved because their proposed person was deleted. */
export const SYSTEM_OPERATOR = 'system (person deleted)'

/** The API shape: the stored item without its embedding. */
export function toReviewItem(s: StoredReviewItem): ReviewItem {
  const { cropEmbedding, ...item } = s
  void cropEmbedding
  return structuredClone(item)
}

const rejectionKey = (cameraId: string, trackId: string, personId: string): string =>
  `${cameraId}\u0000${trackId}\u0000${personId}`

/** Also the retention partner of the event log (events.ts RetentionPartner, matched by shape). */
export class ReviewQueue {
  private readonly decisions = serial()
  private readonly log: Logger
  private readonly now: () => number
  private readonly notifyOthers?: (payload: string) => Promise<void>
  /** (camera, track, person) keys an operator rejected: checked for every analysed face */
  private rejected = new Map<string, number>()
  private readonly memory: QueueMemory | null

  constructor(
    private readonly repo: ReviewRepo,
    private readonly media: QueueMedia,
    private readonly gallery: QueueGallery,
    private readonly events: QueueEvents,
    private readonly onChange?: (pending: number) => void,
    opts: QueueOptions = {}
  ) {
    this.log = opts.logger ?? silentLogger
    this.now = opts.now ?? Date.now
    this.notifyOthers = opts.notify
    this.memory = opts.memory ?? null
  }

  /** Reads the rejections (start-up, or after another instance changed them). */
  async load(): Promise<void> {
    const next = new Map<string, number>()
    for (const r of await this.repo.rejections()) {
      const k = rejectionKey(r.cameraId, r.trackId, r.personId)
      next.set(k, (next.get(k) ?? 0) + 1)
    }
    this.rejected = next
  }

  /** Another instance changed the queue: reload what is cached and tell the console. */
  async reload(): Promise<void> {
    await this.load()
    await this.changed(false)
  }

  /** An operator said this track is not this person: it is never queued for them again. */
  isRejected(cameraId: string, trackId: string, personId: string): boolean {
    return (this.rejected.get(rejectionKey(cameraId, trackId, personId)) ?? 0) > 0
  }

  pendingCount(): Promise<number> {
    return this.repo.pendingCount()
  }

  /**
   * Newest first. With byGroup, pending items of one stranger group come as one card: the newest
   * item, with groupCount = how many pending items one decision on it resolves.
   */
  async list(q: { status?: ReviewStatus; byGroup?: boolean } = {}): Promise<ReviewItem[]> {
    const items = await this.repo.list(q.status)
    if (!q.byGroup) return items.map(toReviewItem)
    const counts = await this.repo.pendingGroupCounts()
    const shown = new Set<string>()
    const out: ReviewItem[] = []
    for (const r of items) {
      if (r.status === 'pending' && r.groupId) {
        if (shown.has(r.groupId)) continue
        shown.add(r.groupId)
        out.push({ ...toReviewItem(r), groupCount: counts.get(r.groupId) ?? 1 })
      } else out.push(toReviewItem(r))
    }
    return out
  }

  /** Rejects many items in one go (the operator's "none of these is who they are proposed as"). */
  rejectMany(input: { itemIds: string[]; operator: string }): Promise<{ rejected: number }> {
    return this.serial(async () => {
      if (!Array.isArray(input?.itemIds)) throw invalid('itemIds must be an array')
      let rejected = 0
      for (const id of input.itemIds) {
        const r = await this.repo.load(id)
        // already resolved, e.g. by the group decision of an earlier id in this list
        if (!r || r.status !== 'pending') continue
        await this.doDecide({ itemId: id, version: r.version, action: 'reject', operator: input.operator })
        rejected++
      }
      return { rejected }
    })
  }

  /**
   * The person was deleted: pending items proposing them have nobody left to confirm, so they
   * resolve themselves as rejected by the system (no lasting "not X" is kept: X is gone). An item
   * another instance decided meanwhile is left as that instance decided it.
   */
  personDeleted(personId: string): Promise<number> {
    return this.serial(async () => {
      let n = 0
      for (const item of await this.repo.pendingForPerson(personId)) {
        const next = applyDecision(item, {
          action: 'reject',
          operator: SYSTEM_OPERATOR,
          version: item.version,
          at: this.now()
        })
        const stored = await this.repo.decide(
          { ...next, cropEmbedding: item.cropEmbedding },
          { version: item.version, pending: true },
          {}
        )
        if (!stored) continue
        n++
        await this.settled(next)
      }
      if (n > 0) await this.changed(true)
      return n
    })
  }

  async get(id: string): Promise<ReviewItem> {
    return toReviewItem(await this.item(id))
  }

  /**
   * Queues a face for review. Returns null, creating nothing, when an operator already said this
   * track is not that person, or when the track already waits for review for that person: then the
   * waiting item takes the new crop if it is better (same version: the operator's view of who it
   * might be has not changed, only the picture got better).
   */
  enqueue(input: EnqueueInput): Promise<ReviewItem | null> {
    return this.serial(() => this.doEnqueue(input))
  }

  decide(input: DecideInput): Promise<ReviewItem> {
    return this.serial(() => this.doDecide(input))
  }

  /** Undoes the last decision of an item still in effect, with its gallery side effects. */
  undo(input: { itemId: string; operator: string }): Promise<ReviewItem> {
    return this.serial(() => this.doUndo(input))
  }

  private async doEnqueue(input: EnqueueInput): Promise<ReviewItem | null> {
    for (const [k, v] of [
      ['eventId', input.eventId],
      ['cameraId', input.cameraId],
      ['trackId', input.trackId]
    ] as const) {
      if (typeof v !== 'string' || v.length === 0) throw invalid(`review item: ${k} must be a non-empty string`)
    }
    if (!Array.isArray(input.candidates)) throw invalid('review item: candidates must be an array')
    if (!Buffer.isBuffer(input.crop) || !Buffer.isBuffer(input.snapshot))
      throw invalid('review item: crop and snapshot must be JPEG buffers')
    try {
      assertEmbedding(input.cropEmbedding, EMBEDDING_DIM)
    } catch (e) {
      throw invalid(`review item: crop embedding: ${(e as Error).message}`)
    }
    const personId = input.personId ?? null
    if (personId !== null && this.isRejected(input.cameraId, input.trackId, personId)) return null
    // "not X" said about this face on another track, camera or day
    if (personId !== null && this.memory?.isRejected(personId, input.cropEmbedding)) return null
    // the one quality gate: a face too poor to become a gallery photo is too poor to ask about
    if (!this.gallery.enrolQualityOk(input.cropQuality)) return null
    const waiting = await this.repo.findPending(input.cameraId, input.trackId, personId)
    if (waiting) {
      if (input.cropQuality.score > waiting.cropQuality.score) await this.betterCrop(waiting, input)
      return null
    }

    let groupId: string | null = null
    if (this.memory) {
      try {
        groupId = await this.memory.groupFor(input.cropEmbedding, input.cropQuality.score)
      } catch (e) {
        this.log.warn(`[review] no stranger group for a new item: ${(e as Error).message}`)
      }
    }
    if (groupId !== null) {
      if ((await this.repo.countPendingInGroup(groupId)) >= MAX_PENDING_PER_GROUP) return null
    }
    const at = this.now()
    const { crop, snapshot } = await this.putImages(input, at)
    const item: StoredReviewItem = {
      id: randomUUID(),
      eventId: input.eventId,
      cameraId: input.cameraId,
      trackId: input.trackId,
      createdAt: at,
      status: 'pending',
      version: 0,
      candidates: input.candidates.map((c) => ({ personId: c.personId, name: c.name, score: c.score })),
      personId,
      box: { ...input.box },
      crop,
      snapshot,
      cropQuality: { ...input.cropQuality },
      decidedBy: null,
      decidedAt: null,
      audit: [],
      groupId,
      cropEmbedding: Float32Array.from(input.cropEmbedding)
    }
    try {
      await this.repo.insert(item)
    } catch (e) {
      await this.removeFile(crop)
      await this.removeFile(snapshot)
      throw e
    }
    await this.updateEvent(item.eventId, {
      decision: 'pending',
      reviewItemId: item.id,
      personId,
      personName: this.nameOf(item, personId)
    })
    await this.changed(true)
    return toReviewItem(item)
  }

  /** Both images or neither: a failed snapshot write takes the crop file back. */
  private async putImages(
    input: Pick<EnqueueInput, 'crop' | 'snapshot'>,
    at: number
  ): Promise<{ crop: string; snapshot: string }> {
    const crop = await this.media.put('crops', input.crop, at)
    try {
      return { crop, snapshot: await this.media.put('snapshots', input.snapshot, at) }
    } catch (e) {
      await this.removeFile(crop)
      throw e
    }
  }

  private async betterCrop(waiting: StoredReviewItem, input: EnqueueInput): Promise<void> {
    const at = this.now()
    const { crop, snapshot } = await this.putImages(input, at)
    const next: StoredReviewItem = {
      ...waiting,
      crop,
      snapshot,
      box: { ...input.box },
      cropQuality: { ...input.cropQuality },
      candidates: input.candidates.map((c) => ({ personId: c.personId, name: c.name, score: c.score })),
      cropEmbedding: Float32Array.from(input.cropEmbedding)
    }
    let replaced: boolean
    try {
      // only while still pending at that version: a decision elsewhere keeps the crop it was made on
      replaced = await this.repo.replaceCrop(next)
    } catch (e) {
      await this.removeFile(crop)
      await this.removeFile(snapshot)
      throw e
    }
    const stale = replaced ? waiting : next
    await this.removeFile(stale.crop)
    await this.removeFile(stale.snapshot)
  }

  private async doDecide(input: DecideInput): Promise<ReviewItem> {
    if (!input || typeof input.itemId !== 'string') throw invalid('itemId is required')
    if (typeof input.version !== 'number' || !Number.isInteger(input.version))
      throw invalid('version must be an integer')
    if (typeof input.operator !== 'string' || input.operator.trim() === '') throw invalid('operator name is required')
    const before = await this.item(input.itemId)
    // a stale or already decided item is refused before anything else happens
    assertDecidable(before, input.version)

    let target: string | null
    let createdPersonId: string | null = null
    switch (input.action) {
      case 'confirm':
        if (!before.personId) throw invalid('nothing to confirm: this face has no proposed person; reassign it instead')
        if (!this.gallery.find(before.personId)) {
          throw new ApiError(
            'not_found',
            `the proposed person ${this.nameOf(before, before.personId) ?? before.personId} no longer exists; reassign the face instead`
          )
        }
        target = before.personId
        break
      case 'reject':
        target = null
        break
      case 'reassign':
        if (!input.personId) throw invalid('reassign needs personId: the person the face belongs to')
        if (!this.gallery.find(input.personId))
          throw new ApiError('not_found', `person ${input.personId} does not exist`)
        target = input.personId
        break
      case 'newPerson': {
        if (typeof input.newPersonName !== 'string' || input.newPersonName.trim() === '')
          throw invalid('newPerson needs newPersonName')
        // duplicate names come back as 'conflict' from the gallery, before anything changed
        const p = await this.gallery.create({ name: input.newPersonName })
        createdPersonId = p.id
        target = p.id
        break
      }
      default:
        throw invalid(`unknown review action ${JSON.stringify((input as { action: unknown }).action)}`)
    }

    let addedPhotoId: string | null = null
    try {
      if (input.addToGallery && target !== null) addedPhotoId = await this.addCropToGallery(before, target)
      const at = this.now()
      const next = applyDecision(before, {
        action: input.action,
        operator: input.operator,
        version: input.version,
        at,
        personId: target,
        addedPhotoId
      })
      const rejection: Rejection | null =
        input.action === 'reject' && before.personId !== null
          ? {
              cameraId: before.cameraId,
              trackId: before.trackId,
              personId: before.personId,
              at,
              operator: next.decidedBy ?? input.operator
            }
          : null
      const stored = await this.repo.decide(
        { ...next, cropEmbedding: before.cropEmbedding },
        { version: input.version, pending: true },
        { addRejection: rejection }
      )
      if (!stored) {
        // another instance decided first: the operator gets the same conflict as a local race
        assertDecidable(await this.item(before.id), input.version)
        throw new ApiError(
          'conflict',
          'this item changed while your decision was being stored; reload and decide again'
        )
      }
      if (rejection) this.addRejectionKey(rejection)
      if (rejection) await this.rememberRejection(before, rejection.personId, rejection.operator)
      const settled = await this.settled(next)
      await this.resolveGroup(before, input.action, next.decidedBy ?? input.operator, target)
      await this.changed(true)
      return settled
    } catch (e) {
      // undo the gallery side effects of a decision that did not happen
      if (addedPhotoId !== null && target !== null) {
        await this.gallery
          .removePhoto(target, addedPhotoId)
          .catch((err: unknown) => this.log.warn(`review: could not take back photo ${addedPhotoId}: ${String(err)}`))
      }
      // the person was created by this very call and holds nothing else: take it back too
      if (createdPersonId !== null) {
        const id = createdPersonId
        await this.gallery
          .delete(id)
          .catch((err: unknown) => this.log.warn(`review: could not take back new person ${id}: ${String(err)}`))
      }
      throw e
    }
  }

  /**
   * One decision resolves the group: the other pending items of the same stranger group follow
   * it — rejected when they propose the same person, otherwise assigned to the decided person.
   * No photos are added for them (the operator looked at one crop, not these).
   */
  private async resolveGroup(
    item: StoredReviewItem,
    action: DecideInput['action'],
    operator: string,
    target: string | null
  ): Promise<void> {
    if (!item.groupId) return
    let group: StoredReviewItem[]
    try {
      group = await this.repo.pendingInGroup(item.groupId)
    } catch (e) {
      // the item's own decision is stored; the siblings stay pending for the operator
      this.log.warn(`[review] group ${item.groupId}: other items not resolved: ${(e as Error).message}`)
      return
    }
    const siblings = group.filter((r) => r.id !== item.id && (action !== 'reject' || r.personId === item.personId))
    for (const s of siblings) {
      const at = this.now()
      const act = action === 'reject' ? 'reject' : s.personId === target ? 'confirm' : 'reassign'
      const next = applyDecision(s, {
        action: act,
        operator,
        version: s.version,
        at,
        personId: act === 'reject' ? null : target,
        addedPhotoId: null
      })
      const rejection: Rejection | null =
        act === 'reject' && s.personId !== null
          ? { cameraId: s.cameraId, trackId: s.trackId, personId: s.personId, at, operator }
          : null
      try {
        // conditional like any decision: a sibling decided elsewhere meanwhile keeps that decision
        const stored = await this.repo.decide(
          { ...next, cropEmbedding: s.cropEmbedding },
          { version: s.version, pending: true },
          { addRejection: rejection }
        )
        if (!stored) continue
        if (rejection) this.addRejectionKey(rejection)
        await this.settled(next)
      } catch (e) {
        this.log.warn(`[review] group decision not applied to item ${s.id}: ${(e as Error).message}`)
      }
    }
  }

  /**
   * The rejection outlives the track: kept against the face in the face memory. The decision is
   * already stored; a memory failure is logged (the track-level rejection still holds).
   */
  private async rememberRejection(item: StoredReviewItem, personId: string, operator: string): Promise<void> {
    if (!this.memory || !item.cropEmbedding) return
    try {
      await this.memory.reject({ personId, embedding: item.cropEmbedding, operator, itemId: item.id })
    } catch (e) {
      this.log.warn(`[review] item ${item.id}: rejection not kept in face memory: ${(e as Error).message}`)
    }
  }

  /** Adds the item's crop to the person's references when its quality passes; returns the photo id or null. */
  private async addCropToGallery(item: StoredReviewItem, personId: string): Promise<string | null> {
    if (!this.gallery.enrolQualityOk(item.cropQuality)) return null
    if (!item.cropEmbedding) {
      this.log.warn(`review: item ${item.id} has no stored embedding; its crop cannot be added to the gallery`)
      return null
    }
    const embedding = item.cropEmbedding
    try {
      assertEmbedding(embedding, EMBEDDING_DIM)
    } catch (e) {
      this.log.warn(`review: item ${item.id}: unusable embedding (${(e as Error).message}); crop not added`)
      return null
    }
    let jpeg: Buffer
    try {
      jpeg = await this.media.read(item.crop)
    } catch (e) {
      this.log.warn(
        `review: crop ${item.crop} of item ${item.id} cannot be read (${(e as Error).message}); crop not added`
      )
      return null
    }
    const photo = await this.gallery.addReferenceFromCrop(
      personId,
      { jpeg, embedding, quality: item.cropQuality },
      'review'
    )
    return photo.id
  }

  private async doUndo(input: { itemId: string; operator: string }): Promise<ReviewItem> {
    if (!input || typeof input.itemId !== 'string') throw invalid('itemId is required')
    const before = await this.item(input.itemId)
    const { item: next, undone } = applyUndo(before, { operator: input.operator, at: this.now() })
    const rejectionOf = (r: Rejection): boolean =>
      undone.action === 'reject' &&
      r.cameraId === before.cameraId &&
      r.trackId === before.trackId &&
      r.personId === undone.previous.personId &&
      r.at === undone.at
    const removedRejections = (await this.repo.rejections()).filter(rejectionOf)
    const stored = await this.repo.decide(
      { ...next, cropEmbedding: before.cropEmbedding },
      { version: before.version, pending: false },
      { removeRejections: removedRejections }
    )
    if (!stored) throw new ApiError('conflict', 'the item changed during undo; reload and try again')
    for (const r of removedRejections) this.removeRejectionKey(r)
    await this.changed(true)
    if (undone.action === 'reject' && this.memory) {
      await this.memory
        .undoRejection(before.id)
        .catch((e: unknown) =>
          this.log.warn(`[review] undo of item ${before.id}: face memory: ${(e as Error).message}`)
        )
    }
    // after the item is written: a failure here leaves an extra reference photo, never a lost one
    if (undone.addedPhotoId && undone.next.personId) {
      try {
        await this.gallery.removePhoto(undone.next.personId, undone.addedPhotoId)
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 'not_found')) {
          this.log.warn(
            `review: undo of item ${before.id}: reference photo ${undone.addedPhotoId} could not be removed: ${(e as Error).message}`
          )
        }
      }
    }
    return this.settled(next)
  }

  /** After a stored decision or undo: the linked event follows the item, listeners hear of it. */
  private async settled(next: ReviewItem): Promise<ReviewItem> {
    await this.updateEvent(next.eventId, {
      decision: eventDecisionOf(next.status),
      personId: next.personId,
      personName: this.nameOf(next, next.personId)
    })
    return this.get(next.id)
  }

  private nameOf(item: Pick<ReviewItem, 'candidates'>, personId: string | null): string | null {
    if (personId === null) return null
    return this.gallery.find(personId)?.name ?? item.candidates.find((c) => c.personId === personId)?.name ?? null
  }

  private async updateEvent(eventId: string, patch: EventPatchLike): Promise<void> {
    try {
      await this.events.update(eventId, patch)
    } catch (e) {
      // the decision stands even when its event is gone (retention) or cannot be written now
      if (!(e instanceof ApiError && e.code === 'not_found'))
        this.log.warn(`review: event ${eventId} not updated: ${(e as Error).message}`)
    }
  }

  private async item(id: string): Promise<StoredReviewItem> {
    const it = await this.repo.load(id)
    if (!it) throw new ApiError('not_found', `review item ${id} does not exist (it may have been removed by retention)`)
    return it
  }

  private addRejectionKey(r: Rejection): void {
    const k = rejectionKey(r.cameraId, r.trackId, r.personId)
    this.rejected.set(k, (this.rejected.get(k) ?? 0) + 1)
  }

  private removeRejectionKey(r: Rejection): void {
    const k = rejectionKey(r.cameraId, r.trackId, r.personId)
    const n = (this.rejected.get(k) ?? 0) - 1
    if (n > 0) this.rejected.set(k, n)
    else this.rejected.delete(k)
  }

  /** RetentionPartner: items of purged (or vanished) events created before the cutoff, and old rejections. */
  async purgeWith(cutoff: number, purgedEventIds: ReadonlySet<string>): Promise<{ reviews: number; media: string[] }> {
    return this.serial(async () => {
      const doomed = await this.repo.doomed(cutoff, purgedEventIds)
      await this.repo.deleteMany(doomed.map((r) => r.id))
      const rejections = await this.repo.purgeRejections(cutoff)
      if (rejections > 0) await this.load()
      if (doomed.length > 0 || rejections > 0) await this.changed(true)
      return { reviews: doomed.length, media: doomed.flatMap((r) => [r.crop, r.snapshot]) }
    })
  }

  referencedMedia(): Promise<string[]> {
    return this.repo.media()
  }

  private async removeFile(key: string): Promise<void> {
    try {
      await this.media.remove(key)
    } catch (e) {
      this.log.warn(`review: could not remove ${key}: ${(e as Error).message}`)
    }
  }

  private async changed(toOthers: boolean): Promise<void> {
    if (toOthers && this.notifyOthers) {
      this.notifyOthers('review').catch((e: unknown) =>
        this.log.warn(`review: could not notify other instances: ${String(e)}`)
      )
    }
    try {
      const n = await this.pendingCount()
      this.onChange?.(n)
    } catch (e) {
      this.log.warn(`review: onChange listener failed: ${(e as Error).message}`)
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.decisions.run(fn)
  }
}
