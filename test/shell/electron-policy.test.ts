import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { appSourceFrom, isAllowedExternal, isAppUrl } from '../../src/main/electron/policy'

const rendererDir = resolve('/opt/vigil/out/renderer')
const fileSource = appSourceFrom(undefined, rendererDir)
const devSource = appSourceFrom('http://localhost:5173', rendererDir)

describe('app URL rule (navigation and IPC sender check)', () => {
  it('accepts the packaged console page and its routes', () => {
    const index = pathToFileURL(join(rendererDir, 'index.html')).href
    expect(isAppUrl(index, fileSource)).toBe(true)
    expect(isAppUrl(index + '#/review', fileSource)).toBe(true)
  })

  it('refuses other local files and other schemes', () => {
    expect(isAppUrl(pathToFileURL('/home/u/Downloads/evil.html').href, fileSource)).toBe(false)
    expect(isAppUrl(pathToFileURL('/opt/vigil/out/renderer-evil/index.html').href, fileSource)).toBe(false)
    expect(isAppUrl('file:///opt/vigil/out/renderer/../../secret.html', fileSource)).toBe(false)
    expect(isAppUrl('file://remote-host/opt/vigil/out/renderer/index.html', fileSource)).toBe(false)
    expect(isAppUrl('https://example.com/', fileSource)).toBe(false)
    expect(isAppUrl('about:blank', fileSource)).toBe(false)
    expect(isAppUrl('', fileSource)).toBe(false)
    expect(isAppUrl(null, fileSource)).toBe(false)
    expect(isAppUrl('not a url', fileSource)).toBe(false)
  })

  it('in dev, accepts only the dev server origin', () => {
    expect(isAppUrl('http://localhost:5173/', devSource)).toBe(true)
    expect(isAppUrl('http://localhost:5173/#/cameras', devSource)).toBe(true)
    expect(isAppUrl('http://localhost:5174/', devSource)).toBe(false)
    expect(isAppUrl('http://127.0.0.1:5173/', devSource)).toBe(false)
    expect(isAppUrl(pathToFileURL(join(rendererDir, 'index.html')).href, devSource)).toBe(false)
  })

  it('ignores a non-http dev URL', () => {
    expect(appSourceFrom('javascript:alert(1)', rendererDir)).toEqual({ kind: 'file', rendererDir })
  })
})

describe('external links', () => {
  it('opens nothing by default', () => {
    expect(isAllowedExternal('https://github.com/')).toBe(false)
  })
  it('opens only allowlisted http(s) origins without credentials', () => {
    const allow = ['https://docs.example.org']
    expect(isAllowedExternal('https://docs.example.org/guide', allow)).toBe(true)
    expect(isAllowedExternal('https://docs.example.org.evil.com/', allow)).toBe(false)
    expect(isAllowedExternal('https://user:pw@docs.example.org/', allow)).toBe(false)
    expect(isAllowedExternal('file:///etc/passwd', ['file://'])).toBe(false)
    expect(isAllowedExternal('smb://host/share', allow)).toBe(false)
  })
})
