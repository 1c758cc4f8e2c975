// The Electron binary is not installed here, so 'electron' is replaced by a recorder of
// ipcMain.handle registrations; what is under test is our sender and payload checks.
import { join, resolve } from 'node:path'
import { silentLogger } from '../../src/main/log/logger'
import { pathToFileURL } from 'node:url'
import { beforeEach, describe, expect, it, vi } from 'vitest'

const handlers = new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>()
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, payload: unknown) => Promise<unknown>) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, fn)
    },
    removeHandler: (channel: string) => handlers.delete(channel)
  }
}))

const { registerIpc, forwardPushes } = await import('../../src/main/electron/ipc')
const { appSourceFrom } = await import('../../src/main/electron/policy')
const { CHANNELS, ipcChannel } = await import('../../src/shared/api')
const { fakeBackend } = await import('./fake-backend')

const rendererDir = resolve('/opt/vigil/out/renderer')
const source = appSourceFrom(undefined, rendererDir)
const appUrl = pathToFileURL(join(rendererDir, 'index.html')).href

function event(opts: { senderId?: number; url?: string | null; parent?: unknown } = {}): unknown {
  return {
    sender: { id: opts.senderId ?? 1 },
    senderFrame: opts.url === null ? null : { url: opts.url ?? appUrl, parent: opts.parent ?? null }
  }
}

async function call(channel: string, ev: unknown, payload: unknown): Promise<unknown> {
  const h = handlers.get(ipcChannel(channel as (typeof CHANNELS)[number]))
  if (!h) throw new Error(`no handler for ${channel}`)
  return h(ev, payload)
}

beforeEach(() => {
  handlers.clear()
  vi.spyOn(console, 'warn').mockImplementation(() => undefined)
})

describe('Electron IPC', () => {
  it('registers one namespaced handler per channel and removes them all', () => {
    const off = registerIpc({
      source,
      trustedContentsIds: () => new Set([1]),
      backend: Promise.resolve(fakeBackend()),
      logger: silentLogger
    })
    expect([...handlers.keys()].sort()).toEqual(CHANNELS.map(ipcChannel).sort())
    off()
    expect(handlers.size).toBe(0)
  })

  it('dispatches a request from the console window', async () => {
    const b = fakeBackend({ 'people.create': async (req) => ({ id: 'p', ...(req as object) }) })
    registerIpc({ source, trustedContentsIds: () => new Set([1]), backend: Promise.resolve(b), logger: silentLogger })
    expect(await call('people.create', event(), { name: 'Ada' })).toEqual({ ok: true, value: { id: 'p', name: 'Ada' } })
    expect(await call('people.create', event(), { name: 7 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' }
    })
  })

  it.each([
    ['another webContents', { senderId: 2 }],
    ['a destroyed frame', { url: null }],
    ['a foreign page', { url: 'https://evil.example/' }],
    ['another local file', { url: 'file:///tmp/evil.html' }],
    ['a subframe', { parent: {} }]
  ])('rejects %s without touching the engine', async (_what, opts) => {
    const b = fakeBackend()
    registerIpc({ source, trustedContentsIds: () => new Set([1]), backend: Promise.resolve(b), logger: silentLogger })
    expect(await call('people.list', event(opts), undefined)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' }
    })
    expect(b.calls).toHaveLength(0)
  })

  it('answers with the reason when the engine failed to start', async () => {
    const failed = Promise.reject(new Error('models missing'))
    failed.catch(() => undefined)
    registerIpc({ source, trustedContentsIds: () => new Set([1]), backend: failed, logger: silentLogger })
    expect(await call('people.list', event(), undefined)).toEqual({
      ok: false,
      error: { code: 'internal', message: 'the engine failed to start: models missing' }
    })
  })

  it('forwards pushes only to a live window showing the console', () => {
    const b = fakeBackend()
    const sent: unknown[][] = []
    let url = appUrl
    let destroyed = false
    const win = {
      isDestroyed: () => destroyed,
      webContents: { isDestroyed: () => false, getURL: () => url, send: (...a: unknown[]) => sent.push(a) }
    }
    const off = forwardPushes(b, () => win as never, source)
    b.emit('review.changed', { pending: 1 })
    url = 'https://evil.example/'
    b.emit('review.changed', { pending: 2 })
    url = appUrl
    destroyed = true
    b.emit('review.changed', { pending: 3 })
    expect(sent).toEqual([['vigil-push:review.changed', { pending: 1 }]])
    off()
    expect(b.listenerCount()).toBe(0)
  })
})
