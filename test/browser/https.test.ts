// The console once over HTTPS/WSS (README "Security"): the real server with the real engine and a
// self-signed certificate generated on start, Chromium trusting exactly that certificate through
// its public-key pin (not by ignoring certificate errors in general). --tls on 127.0.0.1 takes the
// same path as an off-loopback bind, which tests never make.
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
const skip = skipUnless('browser HTTPS test', [
  [chrome.ok, chrome.why ?? ''],
  [built.ok, built.why ?? ''],
  [engine, 'the engine (src/main/app/create-backend.ts) is not in this checkout']
])
const TOKEN = 'https-e2e-token-0123456789'

describe.skipIf(skip)('console over HTTPS/WSS with a generated certificate', () => {
  let server: VigilServer
  let browser: LaunchedBrowser

  beforeAll(async () => {
    server = await startVigil({ args: ['--tls'], env: { VIGIL_TOKEN: TOKEN } })
    // printed right after the URL line, which is what startVigil waits for
    let pin: string | undefined
    for (let i = 0; i < 100 && !pin; i++) {
      pin = /public key pin \(SPKI SHA-256, base64\): (\S+)/.exec(server.output())?.[1]
      if (!pin) await new Promise((r) => setTimeout(r, 50))
    }
    if (!pin) throw new Error(`the server printed no certificate pin:\n${server.output()}`)
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${pin}`])
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('loads the console over https and talks to the engine over wss with the token', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/)
    const g = await guardedPage(browser.context)
    const sockets: string[] = []
    g.page.on('websocket', (ws) => sockets.push(ws.url()))
    const response = await g.page.goto(`${server.url}?token=${TOKEN}`)
    expect(response?.status()).toBe(200)
    expect(await response?.securityDetails()).toMatchObject({ protocol: expect.stringMatching(/TLS/) })
    await g.page.locator('#app > *').first().waitFor({ timeout: 30_000 })
    await g.page.waitForLoadState('networkidle')
    // the header shows the inference summary only after an authenticated system.info over wss
    await g.page.getByTestId('header-inference').waitFor({ timeout: 60_000 })
    await expect
      .poll(() => g.page.getByTestId('header-connection').textContent(), { timeout: 30_000 })
      .toContain('browser mode')
    expect(sockets.some((u) => u.startsWith('wss://127.0.0.1:'))).toBe(true)
    expect(g.page.url()).not.toContain('token=')
    await shot(g.page, 'https-console')
    g.assertClean()
  })
})
