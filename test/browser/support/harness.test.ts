// Checks the harness itself (and browser mode's CSP + Origin rules in a real browser) with a
// fixture page and the fake engine, so it runs before the console and the engine exist.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  chromiumAvailable,
  guardedPage,
  launchChromium,
  repoRoot,
  shot,
  startVigil,
  type LaunchedBrowser,
  type VigilServer
} from './browser'
import { skipUnless } from '../../support/data'

const chrome = chromiumAvailable()
const skip = skipUnless('browser harness test', [[chrome.ok, chrome.why ?? '']])

describe.skipIf(skip)('browser harness', () => {
  let server: VigilServer
  let browser: LaunchedBrowser

  beforeAll(async () => {
    server = await startVigil({
      backendModule: 'test/shell/fake-backend-module.ts',
      args: ['--static-dir', join(repoRoot, 'test/browser/support/fixture')]
    })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('loads a page under the server CSP and round-trips an invoke over /api', async () => {
    const g = await guardedPage(browser.context)
    await g.page.goto(server.url)
    await g.page.waitForSelector('body[data-state="done"]', { timeout: 20_000 })
    const result = JSON.parse((await g.page.textContent('#out')) ?? '{}') as { seen: string[]; envelope: unknown }
    expect(result.seen).toEqual(['hello', 'result'])
    // system.info names no paths (they help a local attacker only); the mode proves the round trip
    expect(result.envelope).toMatchObject({ ok: true, value: { mode: 'browser' } })
    expect(JSON.stringify(result.envelope)).not.toContain(server.dataDir)
    const file = await shot(g.page, 'harness-fixture')
    expect(file).toMatch(/test-output[\\/]browser[\\/]harness-fixture\.png$/)
  })

  it('the guard catches console errors', async () => {
    const g = await guardedPage(browser.context)
    await g.page.goto(server.url + '#fail')
    await g.page.waitForSelector('body[data-state="done"]')
    await g.page.waitForTimeout(100)
    expect(g.problems.join('\n')).toContain('deliberate failure for the guard')
    expect(() => g.assertClean()).toThrow(/reported 1 error/)
    // Cleared so the automatic end-of-test check does not fail this (intended) case.
    g.problems.length = 0
  })

  it('a page from another origin cannot open the API socket', async () => {
    const g = await guardedPage(browser.context, { allow: [/WebSocket connection to .* failed/] })
    // about:blank has an opaque origin; the handshake carries Origin: null and is refused.
    await g.page.goto('about:blank')
    const outcome = await g.page.evaluate(
      (u) =>
        new Promise<string>((done) => {
          const ws = new WebSocket(u)
          ws.onopen = () => done('open')
          ws.onerror = () => done('refused')
        }),
      server.url.replace(/^http/, 'ws') + 'api'
    )
    expect(outcome).toBe('refused')
  })
})
