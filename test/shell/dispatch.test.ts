import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { asApiErrorBody, dispatch } from '../../src/main/api/dispatch'
import { fakeBackend } from './fake-backend'

const quiet = (): void => undefined

describe('dispatch', () => {
  it('answers a valid request with the handler value', async () => {
    const b = fakeBackend({ 'people.create': async (req) => ({ id: 'p1', ...(req as object) }) })
    const env = await dispatch(b, 'people.create', { name: '  Ada  ' }, quiet)
    // The handler gets the parsed (trimmed) request, not the raw payload.
    expect(env).toEqual({ ok: true, value: { id: 'p1', name: 'Ada' } })
    expect(b.calls).toEqual([{ channel: 'people.create', req: { name: 'Ada' } }])
  })

  it('accepts no payload for void channels', async () => {
    const env = await dispatch(fakeBackend(), 'people.list', undefined, quiet)
    expect(env).toEqual({ ok: true, value: [] })
  })

  it.each([
    ['an unknown channel', 'people.explode', {}],
    ['a non-string channel', 42, {}],
    ['a prototype key', '__proto__', {}],
    ['a constructor key', 'constructor', {}]
  ])('refuses %s without calling anything', async (_what, channel, payload) => {
    const b = fakeBackend()
    const env = await dispatch(b, channel, payload, quiet)
    expect(env.ok).toBe(false)
    if (!env.ok) {
      expect(env.error.code).toBe('invalid_request')
      expect(env.error.message).toMatch(/unknown operation/)
    }
    expect(b.calls).toHaveLength(0)
  })

  it('refuses a bad payload with the offending field named', async () => {
    const b = fakeBackend()
    const env = await dispatch(b, 'people.create', { name: '' }, quiet)
    expect(env.ok).toBe(false)
    if (!env.ok) {
      expect(env.error.code).toBe('invalid_request')
      expect(env.error.message).toMatch(/name/)
      expect(env.error.details).toMatchObject({ issues: [{ path: 'name' }] })
    }
    expect(b.calls).toHaveLength(0)
  })

  it('refuses a media key that climbs out of the data dir', async () => {
    const env = await dispatch(fakeBackend(), 'media.get', { key: '../../etc/passwd' }, quiet)
    expect(env.ok ? null : env.error.code).toBe('invalid_request')
  })

  it('passes an ApiError through as its body', async () => {
    const b = fakeBackend({
      'people.delete': async () => {
        throw new ApiError('conflict', 'person is in use', { by: 'x' })
      }
    })
    const env = await dispatch(b, 'people.delete', { id: 'p1' }, quiet)
    expect(env).toEqual({ ok: false, error: { code: 'conflict', message: 'person is in use', details: { by: 'x' } } })
  })

  it('recognises an ApiError from another module instance by shape', async () => {
    const foreign = Object.assign(new Error('queue full'), { name: 'ApiError', code: 'busy' })
    expect(asApiErrorBody(foreign)).toEqual({ code: 'busy', message: 'queue full' })
    // An arbitrary error with a made-up code is not trusted as an API error.
    expect(asApiErrorBody(Object.assign(new Error('x'), { name: 'ApiError', code: 'EACCES' }))).toBeNull()
  })

  it('maps any other throw to internal, keeps the message, logs the stack', async () => {
    const log = vi.fn()
    const boom = new Error('disk on fire')
    const b = fakeBackend({
      'people.list': async () => {
        throw boom
      }
    })
    const env = await dispatch(b, 'people.list', undefined, log)
    expect(env).toEqual({ ok: false, error: { code: 'internal', message: 'disk on fire' } })
    expect(JSON.stringify(env)).not.toMatch(/at .*dispatch/)
    expect(log).toHaveBeenCalledWith(expect.stringContaining('people.list'), boom)
  })

  it('survives handlers that throw synchronously or throw non-errors', async () => {
    const b = fakeBackend()
    ;(b.handlers as unknown as Record<string, unknown>)['people.list'] = () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw 'plain string'
    }
    expect(await dispatch(b, 'people.list', undefined, quiet)).toEqual({
      ok: false,
      error: { code: 'internal', message: 'plain string' }
    })
    ;(b.handlers as unknown as Record<string, unknown>)['people.list'] = () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw undefined
    }
    expect(await dispatch(b, 'people.list', undefined, quiet)).toMatchObject({ ok: false, error: { code: 'internal' } })
  })

  it('survives hostile payloads (throwing getters)', async () => {
    const evil = {
      get name(): string {
        throw new Error('gotcha')
      }
    }
    const env = await dispatch(fakeBackend(), 'people.create', evil, quiet)
    expect(env.ok).toBe(false)
  })

  it('reports a missing handler as internal instead of crashing', async () => {
    const b = fakeBackend()
    delete (b.handlers as unknown as Record<string, unknown>)['people.list']
    const env = await dispatch(b, 'people.list', undefined, quiet)
    expect(env).toMatchObject({ ok: false, error: { code: 'internal' } })
  })
})
