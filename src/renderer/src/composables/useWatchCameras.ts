import { onUnmounted, watch } from 'vue'
import { watchCameras } from '../api'

/**
 * Receive previews and overlays only for the cameras on screen; none once the view is gone.
 * The server drops everything else before it is sent.
 */
export function useWatchCameras(ids: () => string[]): void {
  const stop = watch(
    () => ids().join('\n'),
    (key) => watchCameras(key ? key.split('\n') : []),
    { immediate: true }
  )
  onUnmounted(() => {
    stop()
    watchCameras([])
  })
}
