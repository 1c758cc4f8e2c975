// Alerts in the console, end to end: real Chromium, the real browser-mode server and engine, the
// Hamilton clip over RTSP and a real webhook receiver on 127.0.0.1. Create a watch-list rule with
// a webhook, see the console alert appear when Lin-Manuel Miranda is matched, acknowledge it, and
// read the delivery log. Steps run in order on one page; screenshots under test-output/browser/.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import type { Page } from 'playwright-core'
import { dataPath, hasData, hasModels, skipUnless } from '../support/data'
import { rtspAvailable, startRtspServer, type RtspServer } from '../support/rtsp'
import { startReceiver, type Receiver } from '../support/webhook-receiver'
import {
  chromiumAvailable,
  guardedPage,
  launchChromium,
  rendererBuilt,
  shot,
  startVigil,
  type GuardedPage,
  type LaunchedBrowser,
  type VigilServer
} from './support/browser'

const LIN = 'Lin-Manuel Miranda'
const OPERATOR = 'Alert Operator'
const CLIP = 'video/short_hamilton_clip.mp4'
const SECRET = 'e2e-secret'

const chrome = chromiumAvailable()
const built = rendererBuilt()
const rtsp = rtspAvailable()
const skip = skipUnless('alerts e2e (browser)', [
  [chrome.ok, chrome.why ?? 'Chromium unavailable'],
  [built.ok, built.why ?? 'renderer not built'],
  [rtsp.ok, rtsp.why ?? 'GStreamer RTSP server unavailable'],
  [hasData(CLIP) && hasData('video/lin-manuel-miranda.png'), `test data ${dataPath('video')} not found`],
  [hasModels(), 'models missing; run `npm run models`']
])

describe.skipIf(skip)('alerts in the console (browser mode, real engine, RTSP camera, webhook)', () => {
  let camera: RtspServer
  let server: VigilServer
  let browser: LaunchedBrowser
  let receiver: Receiver
  let g: GuardedPage
  let page: Page
  let failed: string | null = null
  const shots: string[] = []

  function step(name: string, timeoutMs: number, body: () => Promise<void>): void {
    it(
      name,
      async (ctx) => {
        if (failed) ctx.skip(`an earlier step failed: ${failed}`)
        onTestFailed(async () => {
          failed = name
          if (page) shots.push(await shot(page, `alerts-FAILED-${name.slice(0, 30)}`).catch(() => 'screenshot failed'))
        })
        await body()
        const problems = g ? g.problems.splice(0) : []
        if (problems.length) throw new Error(`the page reported ${problems.length} error(s):\n${problems.join('\n')}`)
      },
      timeoutMs
    )
  }
  const snap = async (name: string): Promise<void> => {
    shots.push(await shot(page, `alerts-${name}`))
  }

  beforeAll(async () => {
    ;[camera, server, browser, receiver] = await Promise.all([
      startRtspServer({ file: dataPath(CLIP), repeat: 40 }),
      startVigil(),
      launchChromium(),
      startReceiver(SECRET)
    ])
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await camera?.stop()
    await receiver?.stop()
    console.log(`[alerts-e2e] screenshots:\n  ${shots.join('\n  ')}`)
  })

  step('1. operator name and Lin-Manuel Miranda enrolled', 120_000, async () => {
    g = await guardedPage(browser.context)
    page = g.page
    await page.goto(server.url)
    const input = page.getByTestId('operator-input')
    await input.waitFor({ timeout: 30_000 })
    await input.fill(OPERATOR)
    await page.getByTestId('operator-submit').click()
    await page.getByTestId('nav-people').click()
    await page.getByTestId('add-person').click()
    await page.getByTestId('person-name-input').fill(LIN)
    await page.getByTestId('save-person').click()
    const detail = page.getByTestId('person-detail')
    await detail.locator('h2', { hasText: LIN }).waitFor()
    await detail.getByTestId('photo-input').setInputFiles(dataPath('video/lin-manuel-miranda.png'))
    await detail.getByTestId('person-photo').first().waitFor({ timeout: 60_000 })
  })

  step('2. creates a webhook target and a watch-list rule in Settings', 60_000, async () => {
    await page.getByTestId('nav-settings').click()
    await page.getByTestId('add-target').click()
    await page.getByTestId('target-name').fill('Receiver')
    await page.getByTestId('target-url').fill(receiver.url)
    await page.getByLabel('HMAC secret').fill(SECRET)
    await page.getByTestId('save-target').click()
    await page.getByTestId('target-row').filter({ hasText: 'Receiver' }).waitFor()

    await page.getByTestId('add-rule').click()
    await page.getByTestId('rule-name').fill('Watch list')
    await page.getByTestId('rule-person').first().check()
    await page.getByLabel('needs review').check()
    await page.getByLabel('webhook: Receiver').check()
    await page.getByLabel('Sound').check()
    await snap('2-rule-editor')
    await page.getByTestId('save-rule').click()
    const row = page.getByTestId('rule-row').filter({ hasText: 'Watch list' })
    await row.waitFor()
    expect(await row.textContent()).toContain(LIN)
    await snap('2-rule-listed')
  })

  step('3. a console alert appears when he is matched on the RTSP camera', 120_000, async () => {
    await page.getByTestId('add-camera').click()
    await page.getByTestId('camera-name-input').fill('Stage')
    await page.getByTestId('camera-url-input').fill(camera.url)
    await page.getByTestId('save-camera').click()
    await page.getByTestId('camera-name-input').waitFor({ state: 'detached' })
    await page.getByTestId('nav-live').click()
    const card = page.getByTestId('alert-card').filter({ hasText: LIN })
    await card.first().waitFor({ timeout: 90_000 })
    expect(await card.first().textContent()).toContain('Stage')
    await snap('3-alert-banner')
    // a click opens Events filtered to him on that camera around the alert's time
    await card.first().getByTestId('alert-open').click()
    await page.getByTestId('events-row').filter({ hasText: LIN }).first().waitFor({ timeout: 15_000 })
    await snap('3-alert-opens-events')
  })

  step('4. acknowledges it; the Alerts view shows who and when, and the delivery log', 60_000, async () => {
    const card = page.getByTestId('alert-card').filter({ hasText: LIN }).first()
    const id = await card.getAttribute('data-alert-id')
    await card.getByTestId('alert-ack').click()
    await page.locator(`[data-testid="alert-card"][data-alert-id="${id}"]`).waitFor({ state: 'detached' })
    await page.getByTestId('nav-alerts').click()
    const ackCell = page.getByTestId('alert-row').first().getByTestId('alert-ack-cell')
    await ackCell.filter({ hasText: OPERATOR }).waitFor({ timeout: 10_000 })
    const delivered = page.locator('[data-testid="delivery-row"][data-status="delivered"]')
    await delivered.first().waitFor({ timeout: 30_000 })
    expect(receiver.unique().every((r) => r.signatureOk)).toBe(true)
    expect(receiver.unique().some((r) => r.payload.alert.person?.name === LIN)).toBe(true)
    await page.getByTestId('target-test').first().click()
    await page.locator('[data-testid="delivery-row"]').filter({ hasText: 'test' }).first().waitFor()
    await snap('4-alerts-view-delivery-log')
  })
})
