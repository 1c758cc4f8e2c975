// A VigilBackend without an engine: enough to exercise the shells (dispatch, IPC, WebSocket).
import { ApiError, CHANNELS, type Handlers, type PushChannel, type PushSpec } from '../../src/shared/api'
import type { VigilBackend } from '../../src/main/contracts'

export interface FakeBackend extends VigilBackend {
  emit<P extends PushChannel>(channel: P, payload: PushSpec[P]): void
  /** requests each handler received, after validation */
  calls: { channel: string; req: unknown }[]
  listenerCount(): number
  closed: boolean
}

export function fakeBackend(
  overrides: Partial<Record<keyof Handlers, (req: unknown) => Promise<unknown>>> = {}
): FakeBackend {
  const calls: { channel: string; req: unknown }[] = []
  const listeners = new Set<(channel: PushChannel, payload: unknown) => void>()
  const handlers: Record<string, (req: unknown) => Promise<unknown>> = {}
  for (const c of CHANNELS) {
    handlers[c] = async (req: unknown) => {
      calls.push({ channel: c, req })
      const o = overrides[c]
      if (o) return o(req)
      if (c === 'people.list') return []
      if (c === 'system.info')
        return {
          version: 'test',
          mode: 'browser',
          workers: [],
          queueDepth: 0,
          logFile: null,
          load: { overloaded: false, analysedFps: 0, offeredFps: 0, cameras: [] }
        }
      throw new ApiError('not_found', `fake backend has no ${c}`)
    }
  }
  const backend: FakeBackend = {
    handlers: handlers as unknown as Handlers,
    onPush(listener) {
      const l = listener as (channel: PushChannel, payload: unknown) => void
      listeners.add(l)
      return () => listeners.delete(l)
    },
    emit(channel, payload) {
      for (const l of listeners) l(channel, payload)
    },
    calls,
    listenerCount: () => listeners.size,
    closed: false,
    async close() {
      backend.closed = true
    }
  }
  return backend
}
