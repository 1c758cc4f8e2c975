// Face memory in the console: real Chromium, the real browser-mode server, and a data dir the real
// engine filled by watching the Hamilton clip twice (worker pool, tracker, decider, face memory on
// SQLite). The audience faces nobody can name become stranger groups; one is named as a person.
// Review items of one face are one card that one rejection clears; deleting a person clears the
// items proposing them. Screenshots under test-output/browser/memory-*.png.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend } from '../../src/main/app/create-backend'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { silentLogger } from '../../src/main/log/logger'
import type { CameraFrame, RgbImage } from '../../src/main/contracts'
import { dataPath, hasData, hasModels, MODELS_DIR, skipUnless } from '../support/data'
import {
  chromiumAvailable,
  guardedPage,
  launchChromium,
  rendererBuilt,
  shot,
  startVigil,
  type LaunchedBrowser,
  type VigilServer
} from './support/browser'

const chrome = chromiumAvailable()
const built = rendererBuilt()
const skip = skipUnless('face memory e2e (browser)', [
  [chrome.ok, chrome.why ?? 'Chromium unavailable'],
  [built.ok, built.why ?? 'renderer not built'],
  [hasData('video/short_hamilton_clip.mp4') && hasData('gallery-bbt/howard'), 'test data missing (set VIGIL_DATA)'],
  [hasModels(), 'models missing; run `npm run models`']
])

function frames(): RgbImage[] {
  const raw = execFileSync(
    locateFfmpeg().path,
    [
      '-v',
      'error',
      '-i',
      dataPath('video/short_hamilton_clip.mp4'),
      '-vf',
      'fps=5',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-'
    ],
    { maxBuffer: 1 << 30 }
  )
  const size = 640 * 360 * 3
  const out: RgbImage[] = []
  for (let o = 0; o + size <= raw.length; o += size)
    out.push({ data: raw.subarray(o, o + size), width: 640, height: 360 })
  return out
}

/** The real engine watches the clip twice and leaves review items behind, then closes the data dir. */
async function prepare(dataDir: string): Promise<void> {
  const b = await createBackend({ dataDir, mode: 'headless', modelsDir: MODELS_DIR, workers: 1, logger: silentLogger })
  try {
    const lin = await b.gallery.create({ name: 'Lin-Manuel Miranda' })
    await b.gallery.addPhoto({
      personId: lin.id,
      fileName: 'lin.png',
      dataBase64: readFileSync(dataPath('video/lin-manuel-miranda.png')).toString('base64')
    })
    const howard = await b.gallery.create({ name: 'Howard' })
    const raj = await b.gallery.create({ name: 'Raj' })
    const clip = frames()
    for (let loop = 0; loop < 2; loop++) {
      for (const [seq, image] of clip.entries()) {
        // stamped with the real clock, as a live camera's frames are: the scheduler drops frames
        // older than a second as stale
        const frame: CameraFrame = { cameraId: 'stage', at: Date.now(), seq, image, scale: 1 }
        let taken = false
        b.live.frameReady({ id: 'stage', takeLatest: () => (taken ? null : ((taken = true), frame)) })
        await b.live.drain()
      }
      b.live.forgetCamera('stage')
      await b.live.drain()
    }
    await b.memory.drain()
    // three tracks of one audience face proposed as Howard, two other faces proposed as Raj
    const sightings = (await b.memory.recentSightings(100)).filter((s) => s.groupId && s.crop)
    expect(sightings.length).toBeGreaterThan(2)
    const one = sightings[0]!
    const crop = await b.media.read(one.crop!)
    const q = { sizePx: 80, detScore: 0.9, blur: 100, yawDeg: 0, pitchDeg: 0, score: 0.9 }
    for (let i = 0; i < 3; i++) {
      await b.review.enqueue({
        eventId: `ev-h${i}`,
        cameraId: 'stage',
        trackId: `howard-${i}`,
        candidates: [{ personId: howard.id, name: 'Howard', score: 0.31 }],
        personId: howard.id,
        box: { x: 0, y: 0, w: 60, h: 60 },
        crop,
        snapshot: crop,
        cropQuality: q,
        cropEmbedding: one.embedding
      })
    }
    for (let i = 0; i < 2; i++) {
      const e = new Float32Array(512).map((_, k) => Math.sin(k * (i + 7)))
      await b.review.enqueue({
        eventId: `ev-r${i}`,
        cameraId: 'stage',
        trackId: `raj-${i}`,
        candidates: [{ personId: raj.id, name: 'Raj', score: 0.33 }],
        personId: raj.id,
        box: { x: 0, y: 0, w: 60, h: 60 },
        crop,
        snapshot: crop,
        cropQuality: q,
        cropEmbedding: e
      })
    }
  } finally {
    await b.close()
  }
}

describe.skipIf(skip)('face memory in the console', () => {
  let dataDir: string
  let server: VigilServer
  let browser: LaunchedBrowser

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-memory-e2e-'))
    await prepare(dataDir)
    server = await startVigil({ dataDir })
    browser = await launchChromium()
    await browser.context.addInitScript("localStorage.setItem('vigil.operator', 'E2E Operator')")
  }, 300_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('one card per face with its count; one rejection clears it; deleting a person clears their items', async () => {
    const { page } = await guardedPage(browser.context)
    await page.goto(`${server.url}#/review`)
    await page.getByTestId('group-count').first().waitFor({ timeout: 20_000 })
    expect(await page.getByTestId('group-count').first().textContent()).toContain('× 3')
    await shot(page, 'memory-review-grouped')
    const howardCard = page.locator('[data-item-id]', { hasText: 'Howard' }).first()
    await howardCard.click()
    await page.keyboard.press('r')
    await page.locator('[data-item-id]', { hasText: 'Howard' }).first().waitFor({ state: 'detached', timeout: 10_000 })
    expect(await page.getByTestId('review-pending').textContent()).toContain('2 pending')
    await shot(page, 'memory-review-after-one-rejection')

    await page.goto(`${server.url}#/people`)
    await page.getByTestId('person-card').filter({ hasText: 'Raj' }).click()
    await page.getByTestId('delete-person').click()
    await page.getByTestId('confirm-ok').click()
    await page.getByTestId('person-card').filter({ hasText: 'Raj' }).waitFor({ state: 'detached', timeout: 10_000 })
    await page.goto(`${server.url}#/review`)
    await page.getByTestId('empty-review').waitFor({ timeout: 10_000 })
    await shot(page, 'memory-review-empty-after-person-deleted')
  }, 120_000)

  it('recurring strangers are groups with visits; one is named as a new person with its crops as photos', async () => {
    const { page } = await guardedPage(browser.context)
    await page.goto(`${server.url}#/unknown`)
    await page.getByTestId('group-card').first().waitFor({ timeout: 20_000 })
    await page.getByTestId('group-sort').selectOption('visits')
    const visits = await page.getByTestId('group-visits').first().textContent()
    expect(Number(/\d+/.exec(visits ?? '')?.[0])).toBeGreaterThanOrEqual(2)
    await shot(page, 'memory-unknown-faces')
    const before = await page.getByTestId('group-card').count()
    const card = page.getByTestId('group-card').first()
    const quality = Number(/(\d+)\s*%/.exec((await card.getByTestId('group-quality').textContent()) ?? '')?.[1])
    await card.getByTestId('group-name').fill('Audience regular')
    await card.getByTestId('group-new-person').click()
    await page
      .getByTestId('group-card')
      .nth(before - 1)
      .waitFor({ state: 'detached', timeout: 10_000 })
    await page.goto(`${server.url}#/people`)
    const person = page.getByTestId('person-card').filter({ hasText: 'Audience regular' })
    await person.waitFor({ timeout: 10_000 })
    await person.click()
    await shot(page, 'memory-named-stranger')
    // its best crops became photos, unless they are below the one enrolment gate (30 %)
    const photos = Number(/\d+/.exec((await person.getByTestId('person-photo-count').textContent()) ?? '')?.[0])
    if (quality >= 30) expect(photos).toBeGreaterThan(0)
    else expect(photos).toBe(0)
  }, 120_000)
})
