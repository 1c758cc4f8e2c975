// Sandboxed preload (built to out/preload/index.cjs). Exposes exactly window.vigil: one function
// per API operation, `on` for pushes, and `transport`. Errors reject with an Error whose message
// is "[code] message"; the renderer recovers the code with decodeBridgeError / toApiError from
// src/shared/bridge-error.ts.
import { contextBridge, ipcRenderer } from 'electron'
import { buildApi } from './bridge'

contextBridge.exposeInMainWorld('vigil', buildApi(ipcRenderer))
