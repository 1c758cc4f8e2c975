import { defineStore } from 'pinia'
import { computed, ref, shallowReactive } from 'vue'
import type { CameraInput } from '@shared/api'
import type { CameraTestResult, CameraView, FrameOverlay, PreviewFrame } from '@shared/types'
import { useApi } from '../api'
import { replaceById } from '../lib/list'
import { useToastStore } from './toasts'

export interface PreviewEntry {
  /** blob: URL of the JPEG; the previous one of the camera is revoked when a new one arrives */
  url: string
  /** engine clock of the frame */
  at: number
  /** local clock when it arrived (a frozen picture is detected on this clock, not the engine's) */
  receivedAt: number
}

export interface OverlayEntry {
  overlay: FrameOverlay
  /** local clock when it arrived: overlays are hidden when they go stale, whatever the engine's clock says */
  receivedAt: number
}

export const useCamerasStore = defineStore('cameras', () => {
  const cameras = ref<CameraView[]>([])
  const loaded = ref(false)
  // Previews and overlays arrive several times a second per camera: shallow maps so each update
  // re-renders only the tile of that camera, and only the newest frame is ever kept.
  const previews = shallowReactive(new Map<string, PreviewEntry>())
  const overlays = shallowReactive(new Map<string, OverlayEntry>())

  const byId = computed(() => new Map(cameras.value.map((c) => [c.id, c])))
  const troubled = computed(() =>
    cameras.value.filter((c) => c.status.state === 'offline' || c.status.state === 'error')
  )

  async function load(): Promise<void> {
    try {
      cameras.value = await useApi().camerasList()
      loaded.value = true
    } catch (e) {
      useToastStore().error(e, 'Could not load cameras')
    }
  }

  function upsert(view: CameraView): void {
    if (!replaceById(cameras.value, view)) cameras.value.push(view)
  }

  async function create(input: CameraInput): Promise<CameraView> {
    const v = await useApi().camerasCreate(input)
    upsert(v)
    return v
  }

  async function update(id: string, patch: Partial<CameraInput>): Promise<CameraView> {
    const v = await useApi().camerasUpdate({ id, ...patch })
    upsert(v)
    return v
  }

  async function remove(id: string): Promise<void> {
    await useApi().camerasDelete({ id })
    cameras.value = cameras.value.filter((c) => c.id !== id)
    dropPreview(id)
    overlays.delete(id)
  }

  function dropPreview(id: string): void {
    const old = previews.get(id)
    if (old) URL.revokeObjectURL(old.url)
    previews.delete(id)
  }

  /** Bytes in, one blob: URL per camera out: no base64 string per frame, no growing heap. */
  function setPreview(p: PreviewFrame): void {
    const url = URL.createObjectURL(new Blob([p.jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }))
    const old = previews.get(p.cameraId)
    previews.set(p.cameraId, { url, at: p.at, receivedAt: Date.now() })
    // the <img> has decoded the old picture; revoking frees its bytes
    if (old) URL.revokeObjectURL(old.url)
  }

  function test(url: string): Promise<CameraTestResult> {
    return useApi().camerasTest({ url })
  }

  return {
    cameras,
    loaded,
    previews,
    overlays,
    byId,
    troubled,
    load,
    create,
    update,
    remove,
    test,
    applyStatus: upsert,
    setPreview,
    dropPreview,
    setOverlay: (o: FrameOverlay) => overlays.set(o.cameraId, { overlay: o, receivedAt: Date.now() })
  }
})
