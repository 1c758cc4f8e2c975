// Face memory: every finished track becomes a sighting; sightings nobody could name are clustered
// online into stranger groups (across cameras, and across restarts since groups live in the
// database); and an operator's "not X" is kept against the face (its embedding and its group), so
// the same face is never proposed as X again on any camera until the rejection is undone.
//
// Reads are served from memory (groups and active rejections are loaded at start: a few thousand
// vectors at most), writes go to the repository one at a time in call order.
import { randomUUID } from 'node:crypto'
import type { Band, FaceQuality } from '../../shared/types'
import type { Logger } from '../log/logger'
import { silentLogger } from '../log/logger'
import {
  addToGroup,
  centroid,
  DEFAULT_CLUSTER,
  mergeGroups,
  nearestGroup,
  newGroup,
  similarityToGroup,
  type ClusterOptions
} from './cluster'
import type { GroupStatus, MemoryRepository, StoredGroup, StoredRejection, StoredSighting } from './repository'

export interface SightingInput {
  cameraId: string
  trackId: string
  firstSeen: number
  lastSeen: number
  /** the track's quality-weighted pooled embedding */
  embedding: Float32Array
  /** quality of the track's best crop, 0..1 */
  quality: number
  qualityDetail?: FaceQuality | null
  /** JPEG of the best crop; stored in media */
  crop: Buffer | null
  band: Band
  personId: string | null
  score: number
}

export interface GroupSeen {
  group: StoredGroup
  /** the group was made by this sighting */
  created: boolean
  sighting: StoredSighting
}

export interface MemoryMedia {
  put(kind: 'crops', jpeg: Buffer, at?: number): Promise<string>
  remove(key: string): Promise<void>
}

export interface FaceMemoryOptions {
  repo: MemoryRepository
  media?: MemoryMedia
  cluster?: ClusterOptions
  /**
   * Sightings whose best crop is below this quality are stored but not clustered: a blurred or
   * tiny face matches everyone a little and would glue groups together (default 0.2).
   */
  minClusterQuality?: number
  /** similarity at/above which a face counts as the rejected face (default: the join threshold) */
  rejectAt?: number
  logger?: Logger
  now?: () => number
}

/** Defaults, calibrated with `npm run replay` on the Hamilton clip (README "Stranger groups"). */
export const MIN_CLUSTER_QUALITY = 0.2
const TRACK_GROUPS_KEPT = 10_000

export class FaceMemory {
  private readonly groups = new Map<string, StoredGroup>()
  private rejections: StoredRejection[] = []
  private chain: Promise<unknown> = Promise.resolve()
  private readonly listeners = new Set<(seen: GroupSeen) => void>()
  private readonly cluster: ClusterOptions
  private readonly minQuality: number
  private readonly rejectAt: number
  private readonly log: Logger
  private readonly now: () => number
  private recorded = 0
  /** stored track id → its group, for recent tracks (alerts ask about an event's track) */
  private readonly trackGroups = new Map<string, string>()

  private constructor(private readonly o: FaceMemoryOptions) {
    this.cluster = o.cluster ?? DEFAULT_CLUSTER
    this.minQuality = o.minClusterQuality ?? MIN_CLUSTER_QUALITY
    this.rejectAt = o.rejectAt ?? this.cluster.joinAt
    this.log = o.logger ?? silentLogger
    this.now = o.now ?? Date.now
  }

  static async open(o: FaceMemoryOptions): Promise<FaceMemory> {
    const m = new FaceMemory(o)
    for (const g of await o.repo.allGroups()) m.groups.set(g.id, g)
    m.rejections = await o.repo.activeRejections()
    return m
  }

  /** Called for every group a sighting joined (alerts on recurring strangers hook in here). */
  onGroupSeen(listener: (seen: GroupSeen) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  listGroups(
    q: { sort?: 'lastSeen' | 'visits'; includeIgnored?: boolean; includeNamed?: boolean } = {}
  ): StoredGroup[] {
    const by = q.sort ?? 'lastSeen'
    return [...this.groups.values()]
      .filter((g) => (q.includeIgnored || g.status === 'active') && (q.includeNamed || g.personId === null))
      .sort((a, b) => (by === 'visits' ? b.visits - a.visits : 0) || b.lastSeen - a.lastSeen || (a.id < b.id ? -1 : 1))
      .map((g) => ({ ...g, cameras: [...g.cameras] }))
  }

  group(id: string): StoredGroup | null {
    const g = this.groups.get(id)
    return g ? { ...g, cameras: [...g.cameras] } : null
  }

  get groupCount(): number {
    return this.groups.size
  }

  /** Sightings recorded since this instance opened. */
  get sightingsRecorded(): number {
    return this.recorded
  }

  /** The stranger group a recently finished track joined (stored track id), if any. */
  groupOfTrack(trackId: string): string | null {
    const id = this.trackGroups.get(trackId)
    return id && this.groups.has(id) ? id : null
  }

  /** The stranger group this face belongs to, if one is close enough. */
  groupOf(embedding: Float32Array): { group: StoredGroup; similarity: number } | null {
    const list = [...this.groups.values()]
    const { index, similarity } = nearestGroup(embedding, list, this.cluster)
    return index < 0 ? null : { group: list[index]!, similarity }
  }

  /** The id of this face's group, made now (with no visits yet) when it has none: review items group by it. */
  groupFor(embedding: Float32Array, quality: number): Promise<string> {
    return this.serial(async () => {
      const e = unit(embedding)
      return (this.groupOf(e)?.group ?? (await this.createGroup(e, quality, this.now(), null, null))).id
    })
  }

  /** Has an operator said this face is not `personId` (and not undone it)? */
  isRejected(personId: string, embedding: Float32Array): boolean {
    const mine = this.rejections.filter((r) => r.personId === personId)
    if (mine.length === 0) return false
    let groupId: string | null | undefined
    for (const r of mine) {
      if (cos(embedding, r.embedding) >= this.rejectAt) return true
      if (r.groupId === null) continue
      groupId ??= this.groupOf(embedding)?.group.id ?? null
      if (groupId === r.groupId) return true
    }
    return false
  }

  /** The person ids this face has been rejected as (for the review card and the decider). */
  rejectedPeople(embedding: Float32Array): string[] {
    return [...new Set(this.rejections.map((r) => r.personId))].filter((p) => this.isRejected(p, embedding))
  }

  /**
   * Stores "this face is not personId". The rejection is kept against the face's group (made now
   * if the face has none yet, so the track's sighting will join it) and against the embedding.
   */
  reject(input: {
    personId: string
    embedding: Float32Array
    operator: string
    itemId?: string | null
  }): Promise<StoredRejection> {
    return this.serial(async () => {
      const at = this.now()
      const g = this.groupOf(input.embedding)?.group ?? (await this.createGroup(input.embedding, 0.5, at, null, null))
      const r: StoredRejection = {
        id: randomUUID(),
        personId: input.personId,
        groupId: g.id,
        embedding: unit(input.embedding),
        operator: input.operator,
        at,
        itemId: input.itemId ?? null,
        undoneAt: null
      }
      await this.o.repo.addRejection(r)
      this.rejections.push(r)
      return r
    })
  }

  /** Rejections against a whole group (from the "Unknown faces" view): "this group is not X". */
  rejectGroup(groupId: string, personId: string, operator: string): Promise<StoredRejection> {
    const g = this.groups.get(groupId)
    if (!g) return Promise.reject(new Error(`no stranger group ${groupId}`))
    const c = centroid(g)
    if (!c) return Promise.reject(new Error(`stranger group ${groupId} has no centroid`))
    return this.reject({ personId, embedding: c, operator })
  }

  /** Undoes the rejections an item's decision made. */
  undoRejection(itemId: string): Promise<number> {
    return this.serial(async () => {
      const n = await this.o.repo.undoRejectionsOfItem(itemId, this.now())
      this.rejections = this.rejections.filter((r) => r.itemId !== itemId)
      return n
    })
  }

  /** A finished track: store its sighting and, when nobody could name it, put it in a stranger group. */
  record(input: SightingInput): Promise<GroupSeen | null> {
    return this.serial(async () => {
      const e = unit(input.embedding)
      const crop = input.crop && this.o.media ? await this.o.media.put('crops', input.crop, input.lastSeen) : null
      const clusterable = input.band !== 'match' && input.quality >= this.minQuality
      let group: StoredGroup | null = null
      let created = false
      if (clusterable) {
        const near = this.groupOf(e)
        if (near) {
          const v = addToGroup({ sum: near.group.sum, count: near.group.members }, e, input.quality)
          const better = input.quality > near.group.bestQuality && crop !== null
          group = {
            ...near.group,
            sum: v.sum,
            members: v.count,
            visits: near.group.visits + 1,
            firstSeen: Math.min(near.group.firstSeen, input.firstSeen),
            lastSeen: Math.max(near.group.lastSeen, input.lastSeen),
            cameras: near.group.cameras.includes(input.cameraId)
              ? near.group.cameras
              : [...near.group.cameras, input.cameraId],
            bestCrop: better ? crop : near.group.bestCrop,
            bestQuality: better ? input.quality : near.group.bestQuality
          }
          await this.o.repo.saveGroup(group)
          this.groups.set(group.id, group)
        } else {
          group = await this.createGroup(e, input.quality, input.firstSeen, input.cameraId, crop, input.lastSeen)
          created = true
        }
      }
      const sighting: StoredSighting = {
        id: randomUUID(),
        cameraId: input.cameraId,
        trackId: input.trackId,
        firstSeen: input.firstSeen,
        lastSeen: input.lastSeen,
        embedding: e,
        quality: input.quality,
        qualityDetail: input.qualityDetail ?? null,
        crop,
        band: input.band,
        personId: input.personId,
        score: input.score,
        groupId: group?.id ?? null
      }
      await this.o.repo.addSighting(sighting)
      this.recorded++
      if (group) {
        this.trackGroups.set(input.trackId, group.id)
        // bounded: the oldest entries go first (Map keeps insertion order)
        if (this.trackGroups.size > TRACK_GROUPS_KEPT) this.trackGroups.delete(this.trackGroups.keys().next().value!)
      }
      if (!group) return null
      const seen: GroupSeen = { group: { ...group, cameras: [...group.cameras] }, created, sighting }
      for (const l of this.listeners) {
        try {
          l(seen)
        } catch (err) {
          this.log.warn({ err: String(err) }, 'group listener failed')
        }
      }
      return seen
    })
  }

  setStatus(groupId: string, status: GroupStatus): Promise<StoredGroup> {
    return this.update(groupId, (g) => ({ ...g, status }))
  }

  /** The group was named (new person or added to one): it is no longer a stranger. */
  setPerson(groupId: string, personId: string | null): Promise<StoredGroup> {
    return this.update(groupId, (g) => ({ ...g, personId }))
  }

  /** Merges `other` into `into`: one group, all sightings and rejections. */
  merge(into: string, other: string): Promise<StoredGroup> {
    return this.serial(async () => {
      const a = this.need(into)
      const b = this.need(other)
      if (a.id === b.id) throw new Error('cannot merge a group with itself')
      const v = mergeGroups({ sum: a.sum, count: a.members }, { sum: b.sum, count: b.members })
      const better = b.bestQuality > a.bestQuality
      const g: StoredGroup = {
        ...a,
        sum: v.sum,
        members: v.count,
        visits: a.visits + b.visits,
        firstSeen: Math.min(a.firstSeen, b.firstSeen),
        lastSeen: Math.max(a.lastSeen, b.lastSeen),
        cameras: [...new Set([...a.cameras, ...b.cameras])],
        bestCrop: better ? b.bestCrop : a.bestCrop,
        bestQuality: Math.max(a.bestQuality, b.bestQuality)
      }
      await this.o.repo.saveGroup(g)
      await this.o.repo.moveSightings(b.id, a.id)
      await this.o.repo.moveRejections(b.id, a.id)
      await this.o.repo.deleteGroup(b.id)
      this.groups.set(g.id, g)
      this.groups.delete(b.id)
      for (const r of this.rejections) if (r.groupId === b.id) r.groupId = a.id
      return g
    })
  }

  /** Deletes a group with its biometric data: sightings, their crops, its rejections. */
  deleteGroup(groupId: string): Promise<void> {
    return this.serial(async () => {
      this.need(groupId)
      const sightings = await this.o.repo.sightingsOfGroup(groupId, 1_000_000)
      await this.o.repo.deleteGroup(groupId)
      this.groups.delete(groupId)
      this.rejections = this.rejections.filter((r) => r.groupId !== groupId)
      for (const s of sightings) {
        if (s.crop && this.o.media) {
          await this.o.media
            .remove(s.crop)
            .catch((err: unknown) => this.log.warn({ err: String(err) }, 'crop not removed'))
        }
      }
    })
  }

  /** Newest first, across groups and people. */
  recentSightings(limit = 100): Promise<StoredSighting[]> {
    return this.o.repo.recentSightings(limit)
  }

  sightingsOf(groupId: string, limit = 50): Promise<StoredSighting[]> {
    return this.o.repo.sightingsOfGroup(groupId, limit)
  }

  /** Waits for queued writes (shutdown, tests). */
  async drain(): Promise<void> {
    await this.chain.catch(() => {})
  }

  private async createGroup(
    e: Float32Array,
    quality: number,
    at: number,
    cameraId: string | null,
    crop: string | null,
    lastSeen = at
  ): Promise<StoredGroup> {
    const v = newGroup(e, quality)
    const g: StoredGroup = {
      id: randomUUID(),
      sum: v.sum,
      members: v.count,
      visits: cameraId === null ? 0 : 1,
      firstSeen: at,
      lastSeen,
      cameras: cameraId === null ? [] : [cameraId],
      bestCrop: crop,
      bestQuality: crop ? quality : 0,
      status: 'active',
      personId: null
    }
    await this.o.repo.saveGroup(g)
    this.groups.set(g.id, g)
    return g
  }

  private update(groupId: string, fn: (g: StoredGroup) => StoredGroup): Promise<StoredGroup> {
    return this.serial(async () => {
      const g = fn(this.need(groupId))
      await this.o.repo.saveGroup(g)
      this.groups.set(g.id, g)
      return { ...g, cameras: [...g.cameras] }
    })
  }

  private need(id: string): StoredGroup {
    const g = this.groups.get(id)
    if (!g) throw new Error(`no stranger group ${id}`)
    return g
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => {})
    return run
  }
}

function unit(v: Float32Array): Float32Array {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  if (!(s > 0) || !Number.isFinite(s)) throw new Error('embedding is zero or not finite')
  const k = 1 / Math.sqrt(s)
  return v.map((x) => x * k)
}

function cos(a: Float32Array, b: Float32Array): number {
  return similarityToGroup(a, { sum: b })
}
