// End to end on the Hamilton clip: camera ingest → real face pipeline → tracker → pooled decision.
// Measures how tracks form on real video and what pooling buys over single frames.
import { skipUnless } from '../support/data'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { CameraSource } from '../../src/main/cameras/source'
import type { CameraFrame, DetectedFace, MatchResult } from '../../src/main/contracts'
import { FacePipeline } from '../../src/main/inference/pipeline'
import { cosine } from '../../src/main/tracking/assign'
import { TrackDecider } from '../../src/main/tracking/decision'
import { decideTrack } from '../../src/main/tracking/pooling'
import { FaceTracker, type Track } from '../../src/main/tracking/tracker'
import type { Band } from '../../src/shared/types'
import { cameraConfig, dataDir, repoRoot, waitForStatus } from '../cameras/helpers'
import { wantEmbeddings } from './helpers'

const clip = join(dataDir, 'video/short_hamilton_clip.mp4')
const refs = { lmm: join(dataDir, 'video/lin-manuel-miranda.png'), alex: join(dataDir, 'video/alex-lacamoire.png') }
const models = join(repoRoot, 'models/fr_feature.onnx')
const why =
  !existsSync(clip) || !existsSync(refs.lmm)
    ? `test data missing under ${dataDir} (set VIGIL_TEST_DATA)`
    : !existsSync(models)
      ? 'models missing (npm run models)'
      : null
const skip = skipUnless('clip tracking test', [[why === null, why ?? '']])

describe.skipIf(skip)('tracking on the Hamilton clip', () => {
  let pipe: FacePipeline
  const gallery: Record<string, Float32Array> = {}
  beforeAll(async () => {
    pipe = await FacePipeline.create({ threads: 1 })
    for (const [id, p] of Object.entries(refs)) {
      const r = await pipe.analyzeEncoded(readFileSync(p))
      const best = [...r.faces].sort((a, b) => b.quality.score - a.quality.score)[0]
      if (best?.embedding) gallery[id] = best.embedding
    }
  })
  afterAll(async () => {
    await pipe?.close()
  })

  const match = (e: Float32Array): MatchResult => {
    const candidates = Object.entries(gallery)
      .map(([personId, ref]) => ({ personId, name: personId, score: cosine(e, ref) }))
      .sort((a, b) => b.score - a.score)
    const score = candidates[0]?.score ?? 0
    const band: Band = score >= 0.45 ? 'match' : score >= 0.3 ? 'review' : 'unknown'
    return { band, candidates, score }
  }

  it('forms a few stable tracks and the pooled decision identifies Lin-Manuel Miranda', async () => {
    expect(Object.keys(gallery)).toContain('lmm')
    const src = new CameraSource(cameraConfig({ url: clip, loop: false, detectFps: 5, maxDetectWidth: 640 }), {
      ffmpegPath: locateFfmpeg().path
    })
    const tracker = new FaceTracker('ham', { maxAgeMs: 2000 })
    const decider = new TrackDecider()
    const ended: Track<unknown>[] = []
    const perFrameScores = new Map<string, number[]>()
    let analysed = 0
    let faces = 0
    let busy = false
    let modelMs = 0
    const work = async (f: CameraFrame): Promise<void> => {
      const embed = wantEmbeddings(tracker, f.at)
      const r = await pipe.analyzeRaw(f.image, { embed, minFaceSize: 16 })
      modelMs += r.modelMs
      analysed++
      faces += r.faces.length
      const u = tracker.update(r.faces as DetectedFace[], f.at)
      ended.push(...u.ended)
      u.assigned.forEach((t, i) => {
        const e = r.faces[i]!.embedding
        if (!e) return
        const s = perFrameScores.get(t.id) ?? []
        s.push(match(e).candidates.find((c) => c.personId === 'lmm')?.score ?? 0)
        perFrameScores.set(t.id, s)
      })
      for (const t of u.active) {
        const r = decider.observe(t, match, f.at)
        if (r?.decision.band === 'match') tracker.markDecided(t.id)
      }
    }
    src.on('frame', () => {
      if (busy) return
      const pump = async (): Promise<void> => {
        busy = true
        try {
          for (let f = src.takeLatest(); f; f = src.takeLatest()) await work(f)
        } finally {
          busy = false
        }
      }
      void pump()
    })
    src.start()
    await waitForStatus(src, (s) => s.state === 'offline' && s.reason === 'end of file', 30_000)
    while (busy) await new Promise((r) => setTimeout(r, 50))
    const stats = src.stats()
    await src.stop()
    const all = [...ended, ...tracker.flush()]
    const lines = all.map((t) => {
      const d = decideTrack(t.evidence, match)
      const single = perFrameScores.get(t.id) ?? []
      const meanSingle = single.length ? single.reduce((a, b) => a + b, 0) / single.length : NaN
      return `${t.id}: hits ${t.hits}, ${((t.lastSeen - t.firstSeen) / 1000).toFixed(1)} s, embeddings ${t.embeddings}, decision ${d?.band ?? '-'} ${d?.candidates[0]?.personId ?? ''} pooled ${d?.score.toFixed(3) ?? '-'} agreement ${d?.agreement?.toFixed(2) ?? '-'}; lmm per-frame mean ${meanSingle.toFixed(3)}, per-frame ≥ 0.45: ${single.filter((x) => x >= 0.45).length}/${single.length}`
    })
    console.log(
      `clip: ${stats.delivered} frames delivered, ${analysed} analysed (${stats.dropped} dropped), ${faces} faces, model ${(modelMs / Math.max(1, analysed)).toFixed(0)} ms/frame, ${all.length} tracks\n  ` +
        lines.join('\n  ')
    )
    const main = all.filter((t) => t.confirmed).sort((a, b) => b.hits - a.hits)
    expect(main.length).toBeGreaterThan(0)
    const decisions = main.map((t) => decideTrack(t.evidence, match))
    expect(decisions.some((d) => d?.band === 'match' && d.candidates[0]?.personId === 'lmm')).toBe(true)
  }, 120_000)
})
