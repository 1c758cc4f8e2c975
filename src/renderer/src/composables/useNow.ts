import { getCurrentScope, onScopeDispose, ref, type Ref } from 'vue'

/** A clock that ticks every `intervalMs` for "x s ago" labels and stale-overlay checks. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now())
  const t = setInterval(() => (now.value = Date.now()), intervalMs)
  if (getCurrentScope()) onScopeDispose(() => clearInterval(t))
  return now
}
