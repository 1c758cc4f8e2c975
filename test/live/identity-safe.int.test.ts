// Identity safety on real video: the Hamilton clip cuts from Lin-Manuel Miranda on stage to the
// audience, where a man sits about where Lin's box was. The whole live engine (real models in the
// worker pool, tracker, decider, store) runs over the clip's frames; every overlay box that shows
// Lin's name is checked against an independent embedding of the face under it. No box may name
// him on a face that does not match him.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBackend, type Backend } from '../../src/main/app/create-backend'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { silentLogger } from '../../src/main/log/logger'
import type { CameraFrame, RgbImage } from '../../src/main/contracts'
import { FacePipeline } from '../../src/main/inference/pipeline'
import { cosine, iou } from '../../src/main/tracking/assign'
import type { FrameOverlay } from '../../src/shared/types'
import { dataPath, hasData, hasModels, MODELS_DIR, skipUnless } from '../support/data'

const skip = skipUnless('identity-safe live tracking', [
  [hasData('video/short_hamilton_clip.mp4'), 'test data video/short_hamilton_clip.mp4 not found (set VIGIL_DATA)'],
  [hasModels(), 'models missing; run `npm run models`']
])

const W = 640
const H = 360
const FPS = 5
/** below this the face under a box is not Lin (his genuine frames score 0.40–0.77 against the photo) */
const NOT_HIM = 0.25

function decodeClip(): RgbImage[] {
  const raw = execFileSync(
    locateFfmpeg().path,
    [
      '-v',
      'error',
      '-i',
      dataPath('video/short_hamilton_clip.mp4'),
      '-vf',
      `fps=${FPS},scale=${W}:${H}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-'
    ],
    { maxBuffer: 1 << 30 }
  )
  const size = W * H * 3
  const frames: RgbImage[] = []
  for (let o = 0; o + size <= raw.length; o += size)
    frames.push({ data: raw.subarray(o, o + size), width: W, height: H })
  return frames
}

describe.skipIf(skip)('a track never carries a name to another face (Hamilton clip)', () => {
  let backend: Backend
  let pipe: FacePipeline
  let dir: string
  let linRef: Float32Array
  let lin: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-identity-'))
    backend = await createBackend({
      dataDir: dir,
      mode: 'headless',
      modelsDir: MODELS_DIR,
      workers: 1,
      logger: silentLogger
    })
    pipe = await FacePipeline.create({ threads: 1, modelsDir: MODELS_DIR })
    const bytes = await readFile(dataPath('video/lin-manuel-miranda.png'))
    const p = await backend.gallery.create({ name: 'Lin-Manuel Miranda' })
    const r = await backend.gallery.addPhoto({
      personId: p.id,
      fileName: 'lin.png',
      dataBase64: bytes.toString('base64')
    })
    expect(r.ok).toBe(true)
    lin = p.id
    linRef = (await pipe.analyzeEncoded(bytes)).faces[0]!.embedding!
  }, 120_000)

  afterAll(async () => {
    await backend?.close()
    await pipe?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('names Lin on stage and nobody in the audience after the cut, over three loops', async () => {
    const frames = decodeClip()
    expect(frames.length).toBeGreaterThan(40)
    const overlays: { o: FrameOverlay; image: RgbImage }[] = []
    let current: RgbImage | null = null
    backend.live.onOverlay((o) => overlays.push({ o, image: current! }))
    let seq = 0
    const t0 = Date.now()
    for (let loop = 0; loop < 3; loop++) {
      for (const image of frames) {
        const frame: CameraFrame = { cameraId: 'ham', at: t0 + seq * (1000 / FPS), seq: seq++, image, scale: 1 }
        let taken = false
        current = image
        backend.live.frameReady({
          id: 'ham',
          takeLatest: () => {
            if (taken) return null
            taken = true
            return frame
          }
        })
        await backend.live.drain()
      }
    }

    const named = overlays.flatMap(({ o, image }) =>
      o.tracks.filter((t) => t.personId === lin).map((t) => ({ t, image, at: o.at }))
    )
    const wrong: string[] = []
    for (const { t, image, at } of named) {
      const faces = (await pipe.analyzeRaw(image, { embed: true, minFaceSize: 8 })).faces
      const under = faces.map((f) => ({ f, overlap: iou(f.box, t.box) })).sort((a, b) => b.overlap - a.overlap)[0]
      if (!under || under.overlap < 0.3 || !under.f.embedding) continue
      const sim = cosine(under.f.embedding, linRef)
      if (sim < NOT_HIM)
        wrong.push(`t+${at - t0} ms track ${t.trackId} box ${JSON.stringify(t.box)} sim ${sim.toFixed(2)}`)
    }
    console.log(`${overlays.length} overlays, ${named.length} boxes named Lin, ${wrong.length} on another face`)
    expect(named.length).toBeGreaterThan(10)
    expect(wrong).toEqual([])
  }, 240_000)
})
