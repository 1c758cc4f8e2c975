import type { VigilApi } from '@shared/api'

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in browser mode, where the WebSocket client stands in. */
    vigil?: VigilApi
  }
}

export {}
