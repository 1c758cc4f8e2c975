import { ref, toValue, watch, type MaybeRefOrGetter, type Ref } from 'vue'
import type { MediaKey } from '@shared/types'
import { useApi } from '../api'
import { errorText } from '../lib/errors'

// Media files are written once and never change under the same key, so a cache never goes stale.
// Bounded because data URLs of snapshots run to hundreds of kB each.
const MAX_ENTRIES = 300
const cache = new Map<MediaKey, Promise<string>>()

export function fetchMedia(key: MediaKey): Promise<string> {
  const hit = cache.get(key)
  if (hit) {
    // Refresh recency: Map keeps insertion order, so re-inserting makes it the newest.
    cache.delete(key)
    cache.set(key, hit)
    return hit
  }
  const p = useApi()
    .mediaGet({ key })
    .then((r) => r.dataUrl)
  cache.set(key, p)
  // Failures are not cached: the file may appear later (e.g. written just after the event).
  p.catch(() => {
    if (cache.get(key) === p) cache.delete(key)
  })
  while (cache.size > MAX_ENTRIES) {
    const oldest = cache.keys().next().value
    if (oldest === undefined) break
    cache.delete(oldest)
  }
  return p
}

export function clearMediaCache(): void {
  cache.clear()
}

export interface MediaRef {
  url: Ref<string | null>
  loading: Ref<boolean>
  error: Ref<string | null>
}

/** Data URL of a stored image, following the key as it changes; stale answers are ignored. */
export function useMedia(key: MaybeRefOrGetter<MediaKey | null | undefined>): MediaRef {
  const url = ref<string | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  let seq = 0
  watch(
    () => toValue(key),
    (k) => {
      const mine = ++seq
      error.value = null
      if (!k) {
        url.value = null
        loading.value = false
        return
      }
      loading.value = true
      fetchMedia(k).then(
        (u) => {
          if (mine !== seq) return
          url.value = u
          loading.value = false
        },
        (e: unknown) => {
          if (mine !== seq) return
          url.value = null
          loading.value = false
          error.value = errorText(e)
        }
      )
    },
    { immediate: true }
  )
  return { url, loading, error }
}
