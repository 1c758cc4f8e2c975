import { describe, expect, it, vi } from 'vitest'
import { ApiError, CHANNELS, PUSH_CHANNELS, camelOf, ipcChannel, ipcPushChannel } from '../../src/shared/api'
import { decodeBridgeError, toApiError } from '../../src/shared/bridge-error'
import { buildApi, type IpcLike } from '../../src/preload/bridge'

function fakeIpc(answer: (channel: string, payload: unknown) => unknown = () => ({ ok: true, value: null })) {
  const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>()
  const ipc: IpcLike & { emit(channel: string, payload: unknown): void; count(channel: string): number } = {
    invoke: vi.fn(async (channel: string, payload: unknown) => answer(channel, payload)),
    on(channel, l) {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel)?.add(l)
    },
    removeListener(channel, l) {
      listeners.get(channel)?.delete(l)
    },
    emit(channel, payload) {
      for (const l of listeners.get(channel) ?? []) l({ sender: 'secret ipcRenderer' }, payload)
    },
    count: (channel) => listeners.get(channel)?.size ?? 0
  }
  return ipc
}

describe('preload bridge', () => {
  it('exposes exactly one function per operation, on, and transport', () => {
    const api = buildApi(fakeIpc()) as unknown as Record<string, unknown>
    const keys = Object.keys(api).sort()
    expect(keys).toEqual([...CHANNELS.map(camelOf), 'on', 'transport'].sort())
    expect(api.transport).toBe('ipc')
    expect(Object.isFrozen(api)).toBe(true)
  })

  it('invokes the namespaced channel and unwraps the value', async () => {
    const ipc = fakeIpc((c, p) => ({ ok: true, value: { c, p } }))
    const api = buildApi(ipc)
    expect(await api.peopleCreate({ name: 'Ada' })).toEqual({ c: ipcChannel('people.create'), p: { name: 'Ada' } })
    await api.peopleList()
    expect(ipc.invoke).toHaveBeenLastCalledWith('vigil:people.list', undefined)
  })

  it('rejects with "[code] message" that the renderer decodes back', async () => {
    const api = buildApi(fakeIpc(() => ({ ok: false, error: { code: 'conflict', message: 'stale version 3' } })))
    const err: unknown = await api
      .reviewDecide({ itemId: 'i', version: 3, action: 'confirm', operator: 'op' })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toBe('[conflict] stale version 3')
    expect(decodeBridgeError(err)).toEqual({ code: 'conflict', message: 'stale version 3' })
    // contextBridge may prefix the message; the code still comes back.
    expect(decodeBridgeError(new Error("Error invoking remote method: Error: [not_found] no person 'x'"))).toEqual({
      code: 'not_found',
      message: "no person 'x'"
    })
    const apiErr = toApiError(err)
    expect(apiErr).toBeInstanceOf(ApiError)
    expect(apiErr.code).toBe('conflict')
  })

  it('treats a malformed answer or an invoke failure as an error, never a value', async () => {
    await expect(buildApi(fakeIpc(() => 'garbage')).peopleList()).rejects.toThrow('[internal] malformed answer')
    const failing = fakeIpc()
    failing.invoke = async () => {
      throw new Error('An object could not be cloned.')
    }
    await expect(buildApi(failing).peopleList()).rejects.toThrow('[invalid_request] An object could not be cloned.')
    expect(decodeBridgeError(new Error('plain'))).toEqual({ code: 'internal', message: 'plain' })
  })

  it('subscribes only to push channels and never leaks the IPC event', () => {
    const ipc = fakeIpc()
    const api = buildApi(ipc)
    const got: unknown[][] = []
    const off1 = api.on('review.changed', (...args: unknown[]) => got.push(args))
    const off2 = api.on('review.changed', (...args: unknown[]) => got.push(args))
    expect(ipc.count(ipcPushChannel('review.changed'))).toBe(1)
    ipc.emit(ipcPushChannel('review.changed'), { pending: 4 })
    expect(got).toEqual([[{ pending: 4 }], [{ pending: 4 }]])
    off1()
    off1()
    ipc.emit(ipcPushChannel('review.changed'), { pending: 5 })
    expect(got).toHaveLength(3)
    off2()
    expect(ipc.count(ipcPushChannel('review.changed'))).toBe(0)
    const on = api.on as unknown as (c: unknown, l: unknown) => void
    expect(() => on('vigil:people.list', () => undefined)).toThrow(/\[invalid_request\] unknown push channel/)
    expect(() => on('review.changed', 'not a function')).toThrow(/listener must be a function/)
    expect(PUSH_CHANNELS.length).toBeGreaterThan(0)
  })

  it('keeps delivering to other listeners when one throws', () => {
    const ipc = fakeIpc()
    const api = buildApi(ipc)
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const good = vi.fn()
    api.on('people.changed', () => {
      throw new Error('component bug')
    })
    api.on('people.changed', good)
    ipc.emit(ipcPushChannel('people.changed'), { count: 1 })
    expect(good).toHaveBeenCalledWith({ count: 1 })
    spy.mockRestore()
  })
})
