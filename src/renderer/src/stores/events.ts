import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { EventQuery, EventRecord, EventStats, Page } from '@shared/types'
import { useApi } from '../api'
import { replaceById } from '../lib/list'
import { useToastStore } from './toasts'

export const PAGE_SIZE = 50

export const useEventsStore = defineStore('events', () => {
  /** filters only; paging is kept separately */
  const filters = ref<EventQuery>({})
  const offset = ref(0)
  const page = ref<Page<EventRecord> | null>(null)
  const stats = ref<EventStats | null>(null)
  const loading = ref(false)
  /** events that arrived since the table was loaded: offered as "refresh" rather than moving rows under the cursor */
  const newSince = ref(0)
  let seq = 0

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    try {
      const p = await useApi().eventsQuery({ ...filters.value, offset: offset.value, limit: PAGE_SIZE })
      if (mine !== seq) return
      page.value = p
      newSince.value = 0
    } catch (e) {
      if (mine === seq) useToastStore().error(e, 'Could not load events')
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  async function loadStats(): Promise<void> {
    try {
      // the charts follow the same person/camera/time filters as the table
      const { from, to, cameraId, personId } = filters.value
      stats.value = await useApi().eventsStats({ from, to, cameraId, personId })
    } catch (e) {
      useToastStore().error(e, 'Could not load event statistics')
    }
  }

  async function setFilters(q: EventQuery): Promise<void> {
    filters.value = q
    offset.value = 0
    await Promise.all([load(), loadStats()])
  }

  async function setOffset(o: number): Promise<void> {
    offset.value = Math.max(0, o)
    await load()
  }

  /** The whole filtered set, not just the visible page. */
  async function exportCsv(): Promise<string> {
    const r = await useApi().eventsExportCsv({ ...filters.value })
    return r.csv
  }

  function noteUpserted(e: EventRecord): void {
    const rows = page.value?.items
    // Rows already shown update in place (decision/score changes); new ones are only counted.
    if (!(rows && replaceById(rows, e))) newSince.value++
  }

  return {
    filters,
    offset,
    page,
    stats,
    loading,
    newSince,
    load,
    loadStats,
    setFilters,
    setOffset,
    exportCsv,
    noteUpserted
  }
})
