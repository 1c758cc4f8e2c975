import { computed, ref, type ComputedRef } from 'vue'

// vue-router is not a dependency; six top-level views only need the hash.
export const VIEWS = ['live', 'review', 'people', 'events', 'alerts', 'settings'] as const
export type ViewName = (typeof VIEWS)[number]

export const VIEW_LABEL: Record<ViewName, string> = {
  live: 'Live',
  review: 'Review',
  people: 'People',
  events: 'Events',
  alerts: 'Alerts',
  settings: 'Settings'
}

export function parseHash(hash: string): ViewName {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? ''
  return (VIEWS as readonly string[]).includes(name) ? (name as ViewName) : 'live'
}

const current = ref<ViewName>(typeof window !== 'undefined' ? parseHash(window.location.hash) : 'live')
let listening = false

function listen(): void {
  if (listening || typeof window === 'undefined') return
  listening = true
  // One app-wide listener: the route lives as long as the page.
  window.addEventListener('hashchange', () => (current.value = parseHash(window.location.hash)))
}

export function useRoute(): { view: ComputedRef<ViewName>; go: (v: ViewName) => void } {
  listen()
  return {
    view: computed(() => current.value),
    go: (v: ViewName) => {
      current.value = v
      if (typeof window !== 'undefined' && parseHash(window.location.hash) !== v) window.location.hash = `#/${v}`
    }
  }
}

export const hrefOf = (v: ViewName): string => `#/${v}`
