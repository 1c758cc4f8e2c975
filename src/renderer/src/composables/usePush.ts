import { getCurrentScope, onScopeDispose } from 'vue'
import type { PushChannel, PushSpec } from '@shared/api'
import { useApi, onReconnect } from '../api'

/** Subscribes for the lifetime of the calling component/scope; unsubscribes itself on unmount. */
export function usePush<P extends PushChannel>(channel: P, listener: (payload: PushSpec[P]) => void): () => void {
  const off = useApi().on(channel, listener)
  if (getCurrentScope()) onScopeDispose(off)
  return off
}

/** Reloads after the WebSocket reconnects (pushes sent while away were missed). */
export function useOnReconnect(listener: () => void): void {
  const off = onReconnect(listener)
  if (getCurrentScope()) onScopeDispose(off)
}
