import { onScopeDispose, ref, watch, type Ref } from 'vue'
import { fragmentOffset } from '@shared/preview-wire'
import type { VideoFrame } from '@shared/types'
import { useApi } from '../api'
import { usePush } from './usePush'

/** the engine's focus lease lasts 15 s; renewing every 5 s survives a missed renewal */
const LEASE_RENEW_MS = 5000
/** keep this much video behind the playhead; older is removed so memory stays flat */
const KEEP_S = 10
/** further behind the newest frame than this, the player jumps to the live edge (a seek costs frames) */
const MAX_LAG_S = 3
/** further behind than this, it plays a little faster until it has caught up */
const CATCH_UP_LAG_S = 0.6

export interface LiveVideoState {
  /** frames are being shown */
  playing: Ref<boolean>
  /** the codec this browser cannot play (the tile falls back to JPEG previews), or null */
  unsupported: Ref<string | null>
}

/**
 * Plays a camera's live fragmented MP4 (pushed as 'camera.video') in `video` with Media Source
 * Extensions, while `active()` is true. Each push carries the init segment and one fragment, so
 * playback can start at any push; MSE drops frames until the first keyframe.
 */
export function useLiveVideo(
  video: Ref<HTMLVideoElement | null>,
  cameraId: () => string,
  active: () => boolean
): LiveVideoState {
  const playing = ref(false)
  const unsupported = ref<string | null>(null)
  let ms: MediaSource | null = null
  let sb: SourceBuffer | null = null
  let objectUrl: string | null = null
  let queue: Uint8Array[] = []
  /** the init segment went in: later pushes append their fragment only */
  let initAppended = false
  let lease: ReturnType<typeof setInterval> | null = null

  const renew = (): void => {
    useApi()
      .camerasFocus({ id: cameraId() })
      .catch(() => {
        // the camera may be gone or stopped: previews keep showing
      })
  }

  function teardown(): void {
    if (lease) clearInterval(lease)
    lease = null
    resetPlayer()
  }

  /** Drops the MediaSource; the next push starts a new one with its init segment. */
  function resetPlayer(): void {
    queue = []
    initAppended = false
    sb = null
    if (ms && ms.readyState === 'open') {
      try {
        ms.endOfStream()
      } catch {
        // already ended
      }
    }
    ms = null
    if (video.value) {
      video.value.removeAttribute('src')
      video.value.load()
    }
    if (objectUrl) URL.revokeObjectURL(objectUrl)
    objectUrl = null
    playing.value = false
  }

  function pump(): void {
    const v = video.value
    if (!sb || sb.updating || !v) return
    const b = sb.buffered
    if (b.length && v.currentTime - b.start(0) > KEEP_S * 2) {
      sb.remove(b.start(0), v.currentTime - KEEP_S)
      return
    }
    const next = queue.shift()
    if (next) {
      try {
        sb.appendBuffer(next as Uint8Array<ArrayBuffer>)
      } catch {
        // quota or a decode error: start over with the next push
        teardown()
        start()
      }
    }
  }

  function onAppended(): void {
    const v = video.value
    if (!sb || !v) return
    const b = sb.buffered
    if (b.length) {
      const end = b.end(b.length - 1)
      const lag = end - v.currentTime
      if (lag > MAX_LAG_S) v.currentTime = Math.max(b.start(b.length - 1), end - 0.2)
      else v.playbackRate = lag > CATCH_UP_LAG_S ? 1.25 : 1
      if (v.paused) void v.play().catch(() => {})
    }
    pump()
  }

  function onVideo(f: VideoFrame): void {
    if (!active() || f.cameraId !== cameraId() || unsupported.value) return
    if (!ms) {
      if (typeof MediaSource === 'undefined' || !MediaSource.isTypeSupported(f.mime)) {
        unsupported.value = /codecs="([^"]+)"/.exec(f.mime)?.[1] ?? f.mime
        return
      }
      const m = new MediaSource()
      ms = m
      objectUrl = URL.createObjectURL(m)
      m.addEventListener('sourceopen', () => {
        if (ms !== m) return
        sb = m.addSourceBuffer(f.mime)
        sb.addEventListener('updateend', onAppended)
        pump()
      })
      if (video.value) video.value.src = objectUrl
    }
    // re-appending the init segment would make MSE wait for the next keyframe every time
    queue.push(initAppended ? f.data.subarray(fragmentOffset(f.data)) : f.data)
    initAppended = true
    // a page that cannot keep up starts over at the newest push instead of leaving a gap that
    // would stall playback
    if (queue.length > 8) resetPlayer()
    pump()
  }

  function start(): void {
    if (lease) return
    renew()
    lease = setInterval(renew, LEASE_RENEW_MS)
  }

  usePush('camera.video', onVideo)
  // a string key: a getter returning a fresh array would fire on every camera status push
  const stop = watch(
    () => (active() ? cameraId() : ''),
    (id) => {
      teardown()
      unsupported.value = null
      if (id) start()
    },
    { immediate: true }
  )
  const onPlaying = (): void => {
    playing.value = true
  }
  watch(video, (v, old) => {
    old?.removeEventListener('playing', onPlaying)
    v?.addEventListener('playing', onPlaying)
  })
  onScopeDispose(() => {
    stop()
    teardown()
  })
  return { playing, unsupported }
}
