// First browser test: the real server, the built console, headless Chromium. It checks that the
// console loads over browser mode without a single console error and leaves a screenshot.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  chromiumAvailable,
  guardedPage,
  launchChromium,
  rendererBuilt,
  repoRoot,
  shot,
  startVigil,
  type LaunchedBrowser,
  type VigilServer
} from './support/browser'
import { skipUnless } from '../support/data'

const chrome = chromiumAvailable()
const built = rendererBuilt()
const engine = existsSync(join(repoRoot, 'src/main/app/create-backend.ts'))
const skip = skipUnless('browser smoke test', [
  [chrome.ok, chrome.why ?? ''],
  [built.ok, built.why ?? ''],
  [engine, 'the engine (src/main/app/create-backend.ts) is not in this checkout']
])

describe.skipIf(skip)('console smoke test (browser mode)', () => {
  let server: VigilServer
  let browser: LaunchedBrowser

  beforeAll(async () => {
    server = await startVigil()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('opens the console over the WebSocket transport and renders it', async () => {
    const g = await guardedPage(browser.context)
    const response = await g.page.goto(server.url)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await g.page.locator('#app > *').first().waitFor({ timeout: 30_000 })
    // The app mounted and talks to the engine: the transport in the page is the WebSocket one.
    await g.page.waitForLoadState('networkidle')
    await shot(g.page, 'smoke-console')
    expect(await g.page.title()).toMatch(/Vigil/)
    g.assertClean()
  })
})
