import { describe, expect, it } from 'vitest'
import { checkHost, checkOrigin, displayUrl, isLoopbackHost, resolveToken } from '../../src/main/server/net-policy'
import { parsePort } from '../../src/main/server/server'

describe('token rule', () => {
  it.each(['127.0.0.1', '::1', '[::1]', 'localhost', 'LOCALHOST', '127.1.2.3', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (h) => {
      expect(isLoopbackHost(h)).toBe(true)
    }
  )
  it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', 'localhost.evil.com', '128.0.0.1'])(
    '%s is not loopback',
    (h) => {
      expect(isLoopbackHost(h)).toBe(false)
    }
  )

  it('runs open on loopback unless a token is given', () => {
    expect(resolveToken('127.0.0.1', undefined)).toEqual({ token: undefined, generated: false })
    expect(resolveToken('localhost', '  ')).toEqual({ token: undefined, generated: false })
    expect(resolveToken('::1', 'short')).toEqual({ token: 'short', generated: false })
  })

  it('generates a token for any non-loopback bind', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      expect(resolveToken(host, undefined, () => 'generated-token-xyz')).toEqual({
        token: 'generated-token-xyz',
        generated: true
      })
    }
    const real = resolveToken('0.0.0.0', undefined)
    expect(real.token?.length).toBeGreaterThanOrEqual(32)
  })

  it('keeps a given token but refuses a weak one off loopback', () => {
    expect(resolveToken('0.0.0.0', 'a-long-enough-token-123')).toEqual({
      token: 'a-long-enough-token-123',
      generated: false
    })
    expect(() => resolveToken('0.0.0.0', 'abc')).toThrow(/at least 16 characters/)
  })
})

describe('Host and Origin checks', () => {
  it('accepts loopback names on the right port only', () => {
    expect(checkHost('127.0.0.1:8080', '127.0.0.1', 8080)).toEqual({ ok: true })
    expect(checkHost('localhost:8080', '127.0.0.1', 8080)).toEqual({ ok: true })
    expect(checkHost('[::1]:8080', '::1', 8080)).toEqual({ ok: true })
    expect(checkHost('127.0.0.1:8081', '127.0.0.1', 8080)).toMatchObject({ ok: false, status: 403 })
    expect(checkHost('evil.example:8080', '127.0.0.1', 8080)).toMatchObject({ ok: false, status: 403 })
    expect(checkHost(undefined, '127.0.0.1', 8080)).toMatchObject({ ok: false, status: 400 })
    expect(checkHost('a@b:8080', '127.0.0.1', 8080)).toMatchObject({ ok: false, status: 400 })
  })

  it('accepts any host name on a wildcard bind (the token guards it)', () => {
    expect(checkHost('vigil.lan:8080', '0.0.0.0', 8080)).toEqual({ ok: true })
  })

  it('requires the Origin to be the served page', () => {
    expect(checkOrigin(undefined, '127.0.0.1:8080')).toEqual({ ok: true })
    expect(checkOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).toEqual({ ok: true })
    expect(checkOrigin('http://localhost:8080', '127.0.0.1:8080')).toMatchObject({ ok: false })
    expect(checkOrigin('https://127.0.0.1:8080', '127.0.0.1:8080')).toMatchObject({ ok: false })
    expect(checkOrigin('http://evil.example', '127.0.0.1:8080')).toMatchObject({ ok: false, status: 403 })
    expect(checkOrigin('null', '127.0.0.1:8080')).toMatchObject({ ok: false })
    expect(checkOrigin('file://', '127.0.0.1:8080')).toMatchObject({ ok: false })
  })

  it('prints a reachable URL', () => {
    expect(displayUrl('127.0.0.1', 80)).toBe('http://127.0.0.1:80/')
    expect(displayUrl('::1', 5)).toBe('http://[::1]:5/')
    expect(displayUrl('0.0.0.0', 5)).toBe('http://127.0.0.1:5/')
  })

  it('validates ports', () => {
    expect(parsePort(undefined)).toBeUndefined()
    expect(parsePort('0')).toBe(0)
    expect(parsePort('8080')).toBe(8080)
    expect(() => parsePort('http')).toThrow(/invalid port/)
    expect(() => parsePort('70000')).toThrow(/invalid port/)
    expect(() => parsePort('-1')).toThrow(/invalid port/)
  })
})
