// Builds window.vigil from the channel list. Separate from index.ts (which touches Electron) so
// the unwrapping and subscription rules are unit-tested in Node.
import {
  PUSH_CHANNELS,
  buildApiMethods,
  ipcChannel,
  ipcPushChannel,
  type ApiErrorBody,
  type PushChannel,
  type VigilApi
} from '../shared/api'
import { encodeBridgeMessage } from '../shared/bridge-error'

/** The slice of ipcRenderer the bridge needs; the raw object is never handed to the page. */
export interface IpcLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown
}

function bridgeError(body: ApiErrorBody): Error {
  const err = new Error(encodeBridgeMessage(body))
  err.name = 'ApiError'
  return err
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ApiErrorBody).code === 'string' &&
    typeof (v as ApiErrorBody).message === 'string'
  )
}

/** Envelope → value, or a thrown Error whose message is "[code] message". */
export function unwrap(answer: unknown): unknown {
  if (typeof answer === 'object' && answer !== null) {
    const a = answer as { ok?: unknown; value?: unknown; error?: unknown }
    if (a.ok === true) return a.value
    if (a.ok === false && isErrorBody(a.error)) throw bridgeError(a.error)
  }
  throw bridgeError({ code: 'internal', message: 'malformed answer from the engine' })
}

const PUSH_SET: ReadonlySet<string> = new Set(PUSH_CHANNELS)

export function buildApi(ipc: IpcLike): VigilApi {
  const methods = buildApiMethods(async (channel, payload) => {
    let answer: unknown
    try {
      answer = await ipc.invoke(ipcChannel(channel), payload)
    } catch (err) {
      // Only reachable when the payload cannot be cloned or main has no handler.
      throw bridgeError({ code: 'invalid_request', message: err instanceof Error ? err.message : String(err) })
    }
    return unwrap(answer)
  })

  // One ipcRenderer listener per push channel, fanned out here: the page may subscribe many
  // components without tripping EventEmitter's listener limit or leaking the IPC event object.
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  const relays = new Map<string, (event: unknown, payload: unknown) => void>()

  const on = (channel: unknown, listener: unknown): (() => void) => {
    if (typeof channel !== 'string' || !PUSH_SET.has(channel)) {
      throw bridgeError({ code: 'invalid_request', message: `unknown push channel ${JSON.stringify(channel)}` })
    }
    if (typeof listener !== 'function') {
      throw bridgeError({ code: 'invalid_request', message: 'listener must be a function' })
    }
    const fn = listener as (payload: unknown) => void
    let set = listeners.get(channel)
    if (!set) {
      const s = new Set<(payload: unknown) => void>()
      set = s
      listeners.set(channel, s)
      const relay = (_event: unknown, payload: unknown): void => {
        for (const l of [...s]) {
          try {
            l(payload)
          } catch (err) {
            console.error(`[vigil] push listener for ${channel} threw`, err)
          }
        }
      }
      relays.set(channel, relay)
      ipc.on(ipcPushChannel(channel as PushChannel), relay)
    }
    // A wrapper per subscription so the same function subscribed twice unsubscribes independently.
    const entry = (payload: unknown): void => fn(payload)
    set.add(entry)
    let active = true
    return () => {
      if (!active) return
      active = false
      const s = listeners.get(channel)
      if (!s) return
      s.delete(entry)
      if (s.size === 0) {
        listeners.delete(channel)
        const relay = relays.get(channel)
        relays.delete(channel)
        if (relay) ipc.removeListener(ipcPushChannel(channel as PushChannel), relay)
      }
    }
  }

  const api: VigilApi = { ...methods, on, transport: 'ipc' }
  return Object.freeze(api)
}
