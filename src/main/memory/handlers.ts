// The face memory's API channels: the "Unknown faces" view lists stranger groups and acts on them.
// Naming a group (new person, or added to a person) turns its best crops into gallery photos
// through the gallery's one quality gate, then marks the group as named.
import { ApiError } from '../../shared/api'
import type { Sighting, StrangerGroup } from '../../shared/types'
import type { HandlersFor } from '../contracts'
import type { Gallery } from '../gallery/gallery'
import type { FaceMemory } from './face-memory'
import type { StoredGroup, StoredSighting } from './repository'

/** Best crops of a group that become the person's photos when it is named. */
const PHOTOS_PER_GROUP = 3
/** two sightings this alike are the same picture of the face */
const SAME_CROP_SIMILARITY = 0.98

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

export interface MemoryHandlerDeps {
  memory: FaceMemory
  gallery: Pick<Gallery, 'create' | 'find' | 'addReferenceFromCrop' | 'enrolQualityOk'>
  media: { read(key: string): Promise<Buffer> }
  log?: { warn(msg: string): void }
}

export function toGroupView(g: StoredGroup): StrangerGroup {
  return {
    id: g.id,
    visits: g.visits,
    firstSeen: g.firstSeen,
    lastSeen: g.lastSeen,
    cameras: [...g.cameras],
    bestCrop: g.bestCrop,
    bestQuality: g.bestQuality,
    status: g.status
  }
}

export function toSightingView(s: StoredSighting, similarity?: number): Sighting {
  return {
    id: s.id,
    cameraId: s.cameraId,
    firstSeen: s.firstSeen,
    lastSeen: s.lastSeen,
    crop: s.crop,
    band: s.band,
    personId: s.personId,
    score: s.score,
    quality: s.quality,
    groupId: s.groupId,
    ...(similarity === undefined ? {} : { similarity })
  }
}

export function memoryHandlers(d: MemoryHandlerDeps): HandlersFor<'memory'> {
  const need = (id: string): StoredGroup => {
    const g = d.memory.group(id)
    if (!g) throw new ApiError('not_found', `stranger group ${id} does not exist (deleted or merged)`)
    return g
  }

  /** Adds the group's best crops (those passing the gallery gate) to the person; returns how many. */
  async function photosTo(personId: string, groupId: string): Promise<number> {
    const best = (await d.memory.sightingsOf(groupId, 200))
      .filter((s) => s.crop && s.qualityDetail && d.gallery.enrolQualityOk(s.qualityDetail))
      .sort((a, b) => b.quality - a.quality)
      // the same moment seen twice (a looping camera, a replay) is one photo, not two
      .filter((s, i, all) => all.slice(0, i).every((o) => dot(o.embedding, s.embedding) < SAME_CROP_SIMILARITY))
      .slice(0, PHOTOS_PER_GROUP)
    let added = 0
    for (const s of best) {
      try {
        const jpeg = await d.media.read(s.crop!)
        await d.gallery.addReferenceFromCrop(
          personId,
          { jpeg, embedding: s.embedding, quality: s.qualityDetail! },
          'review'
        )
        added++
      } catch (e) {
        d.log?.warn(`[memory] sighting ${s.id}: crop not added to the gallery: ${(e as Error).message}`)
      }
    }
    return added
  }

  return {
    // a group made for a review item whose track has not ended yet has no sighting to show
    'memory.groups': async ({ sort, includeIgnored }) =>
      d.memory
        .listGroups({ sort, includeIgnored })
        .filter((g) => g.visits > 0)
        .map(toGroupView),
    'memory.sightings': async ({ groupId, limit }) => {
      need(groupId)
      return (await d.memory.sightingsOf(groupId, limit ?? 50)).map((s) => toSightingView(s))
    },
    'memory.groupAction': async (req) => {
      const g = need(req.groupId)
      switch (req.action) {
        case 'newPerson': {
          if (!req.name) throw new ApiError('invalid_request', 'newPerson needs a name')
          const p = await d.gallery.create({ name: req.name })
          const photosAdded = await photosTo(p.id, g.id)
          const named = await d.memory.setPerson(g.id, p.id)
          return { group: toGroupView(named), personId: p.id, photosAdded }
        }
        case 'addToPerson': {
          if (!req.personId || !d.gallery.find(req.personId))
            throw new ApiError('not_found', `person ${req.personId ?? '(none)'} does not exist`)
          const photosAdded = await photosTo(req.personId, g.id)
          const named = await d.memory.setPerson(g.id, req.personId)
          return { group: toGroupView(named), personId: req.personId, photosAdded }
        }
        case 'merge': {
          if (!req.otherGroupId) throw new ApiError('invalid_request', 'merge needs otherGroupId')
          need(req.otherGroupId)
          return { group: toGroupView(await d.memory.merge(g.id, req.otherGroupId)), personId: null, photosAdded: 0 }
        }
        case 'ignore':
        case 'unignore': {
          const next = await d.memory.setStatus(g.id, req.action === 'ignore' ? 'ignored' : 'active')
          return { group: toGroupView(next), personId: null, photosAdded: 0 }
        }
        case 'delete':
          await d.memory.deleteGroup(g.id)
          return { group: null, personId: null, photosAdded: 0 }
        default:
          throw new ApiError('invalid_request', `unknown group action ${String(req.action)}`)
      }
    }
  }
}
