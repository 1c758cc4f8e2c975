// Picks the transport once: the Electron preload bridge when present, else the WebSocket client.
// Everything in the console talks to `useApi()` / `api`, and always sees ApiError on failure.
import { reactive, readonly } from 'vue'
import { ApiError, buildApiMethods, camelOf, type VigilApi } from '@shared/api'
import { toApiError } from '../lib/errors'
import { createWsClient, defaultWsUrl, type ConnectionState, type TokenReason, type WsClient } from './ws-client'

export type { ConnectionState } from './ws-client'

const TOKEN_KEY = 'vigil.token'

const connectionState = reactive<ConnectionState & { transport: 'ipc' | 'websocket' | 'none' }>({
  status: 'connecting',
  attempt: 0,
  retryAt: null,
  lastError: null,
  needsToken: false,
  serverVersion: null,
  transport: 'none'
})
/** Live connection state for the banner and header. */
export const connection = readonly(connectionState)

const tokenState = reactive<{ open: boolean; reason: TokenReason }>({ open: false, reason: 'required' })
/** The token dialog is open while the server waits for one. */
export const tokenPrompt = readonly(tokenState)
let tokenWaiters: ((t: string) => void)[] = []

function askToken(reason: TokenReason): Promise<string> {
  tokenState.open = true
  tokenState.reason = reason
  // Several connections may ask while the dialog is up; they all get the one answer.
  return new Promise((resolve) => tokenWaiters.push(resolve))
}

export function submitToken(token: string): void {
  tokenState.open = false
  const waiters = tokenWaiters
  tokenWaiters = []
  for (const w of waiters) w(token)
}

let override: VigilApi | null = null
let instance: VigilApi | null = null
let wsClient: WsClient | null = null
const reconnectListeners = new Set<() => void>()

/** Wraps the preload bridge so rejections become ApiError with their code (see lib/errors.ts). */
export function wrapIpc(raw: VigilApi): VigilApi {
  const methods = buildApiMethods(async (channel, req) => {
    const name = camelOf(channel)
    // the bridge is another bundle's object: look its methods up, do not trust its type
    const f: unknown = Reflect.get(raw, name)
    if (typeof f !== 'function') throw new ApiError('internal', `The app bridge has no operation ${name}.`)
    try {
      return (await Reflect.apply(f, raw, [req])) as unknown
    } catch (e) {
      throw toApiError(e)
    }
  })
  const on: VigilApi['on'] = (channel, listener) => raw.on(channel, listener)
  return { ...methods, on, transport: 'ipc' }
}

function tokenFromPage(): string | null {
  try {
    const url = new URL(window.location.href)
    const t = url.searchParams.get('token')
    if (t) {
      // Keep the token out of the address bar, history and screenshots once read.
      url.searchParams.delete('token')
      window.history.replaceState(window.history.state, '', url.toString())
      return t
    }
    return window.sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function createDefault(): VigilApi {
  if (typeof window !== 'undefined' && window.vigil) {
    Object.assign(connectionState, { status: 'open', transport: 'ipc' })
    return wrapIpc(window.vigil)
  }
  let readyOnce = false
  const client = createWsClient({
    url: defaultWsUrl(window.location),
    token: tokenFromPage(),
    askToken,
    onTokenAccepted: (t) => {
      try {
        window.sessionStorage.setItem(TOKEN_KEY, t)
      } catch {
        // storage may be disabled; the operator is asked again after a reload
      }
    }
  })
  wsClient = client
  Object.assign(connectionState, client.state(), { transport: 'websocket' })
  client.onState((s) => Object.assign(connectionState, s))
  client.onReady(() => {
    if (readyOnce) for (const l of reconnectListeners) l()
    readyOnce = true
  })
  return client.api
}

export function useApi(): VigilApi {
  if (override) return override
  if (!instance) instance = createDefault()
  return instance
}

/** Replaces the transport (component tests, dev fixtures). Pass null to go back to the default. */
export function setApi(a: VigilApi | null): void {
  override = a
  if (a) Object.assign(connectionState, { status: 'open', transport: a.transport })
}

/** Lazily bound so importing a store never opens a connection by itself. */
export const api: VigilApi = new Proxy({} as VigilApi, {
  get: (_t, prop) => Reflect.get(useApi(), prop)
})

/** Runs after the WebSocket came back, so views can reload what they may have missed. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener)
  return () => reconnectListeners.delete(listener)
}

export function retryConnection(): void {
  wsClient?.retryNow()
}

/**
 * Tells the server which cameras' previews and overlays this page shows (null = all). Browser mode
 * only: Electron has one window, and its IPC carries preview bytes without any encoding.
 */
export function watchCameras(cameraIds: string[] | null): void {
  if (!override) wsClient?.watch(cameraIds)
}
