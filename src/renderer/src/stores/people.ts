import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AddPhotoInput, PersonInput } from '@shared/api'
import type { EnrolResult, Person } from '@shared/types'
import { useApi } from '../api'
import { replaceById } from '../lib/list'
import { useToastStore } from './toasts'

export const usePeopleStore = defineStore('people', () => {
  const people = ref<Person[]>([])
  const loaded = ref(false)

  const byId = computed(() => new Map(people.value.map((p) => [p.id, p])))
  const sorted = computed(() => [...people.value].sort((a, b) => a.name.localeCompare(b.name)))

  async function load(): Promise<void> {
    try {
      people.value = await useApi().peopleList()
      loaded.value = true
    } catch (e) {
      useToastStore().error(e, 'Could not load people')
    }
  }

  function upsert(p: Person): void {
    if (!replaceById(people.value, p)) people.value.push(p)
  }

  async function create(input: PersonInput): Promise<Person> {
    const p = await useApi().peopleCreate(input)
    upsert(p)
    return p
  }

  async function update(id: string, patch: Partial<PersonInput>): Promise<Person> {
    const p = await useApi().peopleUpdate({ id, ...patch })
    upsert(p)
    return p
  }

  async function remove(id: string): Promise<void> {
    await useApi().peopleDelete({ id })
    people.value = people.value.filter((p) => p.id !== id)
  }

  /** Adds the new photo to the local copy on success so counts update without a reload. */
  async function addPhoto(input: AddPhotoInput): Promise<EnrolResult> {
    const r = await useApi().peopleAddPhoto(input)
    if (r.ok) {
      const p = byId.value.get(input.personId)
      if (p && !p.photos.some((x) => x.id === r.photo.id)) upsert({ ...p, photos: [...p.photos, r.photo] })
    }
    return r
  }

  async function removePhoto(personId: string, photoId: string): Promise<Person> {
    const p = await useApi().peopleRemovePhoto({ personId, photoId })
    upsert(p)
    return p
  }

  return { people, loaded, byId, sorted, load, create, update, remove, addPhoto, removePhoto }
})
