// The decision module on its own: a fake matcher (cosine against one vector per person) and the
// real tracker for the synthetic crossings and cuts.
import { describe, expect, it } from 'vitest'
import type { MatchResult } from '../../src/main/contracts'
import { cosine } from '../../src/main/tracking/assign'
import { TrackDecider, type DecisionTrack } from '../../src/main/tracking/decision'
import { classifySceneChange, frameSignature, signatureDistance } from '../../src/main/tracking/scene'
import { FaceTracker } from '../../src/main/tracking/tracker'
import type { Band } from '../../src/shared/types'
import { face, near, randomUnit } from './helpers'

const A = randomUnit(1)
const B = randomUnit(2)
const people: Record<string, Float32Array> = { a: A, b: B }

/** The fake analyser's matcher: accept 0.5, review 0.3. */
function match(e: Float32Array): MatchResult {
  const candidates = Object.entries(people)
    .map(([personId, ref]) => ({ personId, name: personId.toUpperCase(), score: cosine(e, ref) }))
    .sort((x, y) => y.score - x.score)
  const score = candidates[0]?.score ?? 0
  const band: Band = score >= 0.5 ? 'match' : score >= 0.3 ? 'review' : 'unknown'
  return { band, candidates, score }
}

function track(id: string, embs: Float32Array[], o: Partial<DecisionTrack> = {}): DecisionTrack {
  return {
    id,
    firstSeen: 0,
    lastSeen: 1000,
    embeddings: embs.length,
    evidence: embs.map((embedding) => ({ embedding, quality: { score: 0.8 } })),
    verified: true,
    confirmed: true,
    ...o
  }
}

describe('TrackDecider: when an event is written and a face is queued', () => {
  it('acts on a match at once, then refreshes at most once a second unless the score improves', () => {
    const d = new TrackDecider()
    const r = d.observe(track('t', [near(A, 0.7, 3)]), match, 100)!
    expect(r.verdict).toMatchObject({ band: 'match', personId: 'a', personName: 'A', rejected: false })
    expect(r.plan).toMatchObject({ key: 'a', improved: true, decision: 'auto', queue: false })
    d.stored('t', 'a', r.verdict.score)
    expect(d.observe(track('t', [near(A, 0.6, 4)]), match, 500)!.plan).toBeNull()
    expect(d.observe(track('t', [near(A, 0.6, 4)]), match, 1200)!.plan).toMatchObject({ improved: false })
    expect(d.observe(track('t', [near(A, 0.9, 5)]), match, 1300)!.plan).toMatchObject({ improved: true })
  })

  it('waits for three embeddings before a review event, and queues each person once', () => {
    const d = new TrackDecider()
    const weak = near(A, 0.4, 6)
    expect(d.observe(track('t', [weak]), match, 0)!.plan).toBeNull()
    const p = d.observe(track('t', [weak, weak, weak]), match, 100)!.plan!
    expect(p).toMatchObject({ key: 'a', decision: 'pending', queue: true })
    expect(p.candidates[0]!.personId).toBe('a')
    d.stored('t', 'a', p.verdict.score)
    expect(d.observe(track('t', [weak, weak, weak]), match, 1500)!.plan).toMatchObject({ queue: false })
  })

  it('retries a failed enqueue and a failed write on the next decision', () => {
    const d = new TrackDecider()
    const w = near(A, 0.4, 7)
    const weak = [w, w, w]
    expect(d.observe(track('t', weak), match, 0)!.plan).toMatchObject({ queue: true })
    d.queueFailed('t', 'a')
    d.writeFailed('t', 'a')
    expect(d.observe(track('t', weak), match, 10)!.plan).toMatchObject({ queue: true, improved: true })
  })

  it('writes an unknown face only after 10 s or at the end, and never over a named event', () => {
    const d = new TrackDecider()
    const stranger = randomUnit(99)
    expect(d.observe(track('u', [stranger]), match, 5000)!.plan).toBeNull()
    expect(d.observe(track('u', [stranger]), match, 10_000)!.plan).toMatchObject({ key: '', decision: 'auto' })
    d.observe(track('n', [near(A, 0.8, 10)]), match, 0)
    expect(d.observe(track('n', [stranger]), match, 20_000)!.plan).toBeNull()
    expect(d.finish(track('n', [stranger]))).toMatchObject({ close: ['a'], plan: null })
  })

  it('gives a short track its one event when it ends, and nothing for a blip', () => {
    const d = new TrackDecider()
    d.observe(track('s', [randomUnit(50)]), match, 0)
    expect(d.finish(track('s', [randomUnit(50)])).plan).toMatchObject({ key: '' })
    d.observe(track('blip', [randomUnit(51)], { confirmed: false }), match, 0)
    expect(d.finish(track('blip', [randomUnit(51)], { confirmed: false }))).toMatchObject({
      close: [],
      plan: null,
      last: null
    })
    expect(d.size).toBe(0)
  })

  it('a rejection overrides the verdict: the face is unknown, not queued again, and labelled grey', () => {
    const rejected = new Set<string>()
    const d = new TrackDecider({ rejected: ({ personId }) => rejected.has(personId) })
    const w = near(A, 0.4, 11)
    const weak = [w, w, w]
    expect(d.observe(track('t', weak), match, 0)!.verdict.band).toBe('review')
    rejected.add('a')
    const r = d.observe(track('t', weak), match, 20_000)!
    expect(r.verdict).toMatchObject({ band: 'unknown', personId: null, rejected: true })
    expect(r.plan?.queue ?? false).toBe(false)
    expect(d.label({ id: 't', verified: true })).toMatchObject({ band: 'unknown', name: null })
  })

  it('shows no name on a track whose face was not verified in this frame', () => {
    const d = new TrackDecider()
    d.observe(track('t', [near(A, 0.8, 14)]), match, 0)
    expect(d.label({ id: 't', verified: true })).toMatchObject({ band: 'match', name: 'A' })
    expect(d.label({ id: 't', verified: false })).toMatchObject({ band: 'unknown', name: null })
  })
})

const box = (x: number, y = 100, s = 60) => ({ x, y, w: s, h: s })

describe('identity-safe tracking: synthetic crossings and cuts', () => {
  it('two people crossing keep their own tracks and names', () => {
    const tr = new FaceTracker('c')
    const d = new TrackDecider()
    const names = new Map<string, string>()
    // A walks right, B walks left; they overlap around frame 10
    for (let k = 0; k <= 20; k++) {
      const xa = 100 + k * 20
      const xb = 500 - k * 20
      const u = tr.update(
        [face(box(xa), { embedding: near(A, 0.8, 100 + k) }), face(box(xb), { embedding: near(B, 0.8, 200 + k) })],
        k * 200
      )
      u.assigned.forEach((t, i) => {
        d.observe(t, match, k * 200)
        const who = i === 0 ? 'A' : 'B'
        const label = d.label(t).name
        if (label) expect(label, `frame ${k} face ${who} on ${t.id}`).toBe(who)
        names.set(t.id, names.get(t.id) ?? who)
        expect(names.get(t.id), `track ${t.id} switched faces at frame ${k}`).toBe(who)
      })
    }
  })

  it('a different face in the same place (a cut) gets a new track that decides afresh', () => {
    const tr = new FaceTracker('c')
    const d = new TrackDecider()
    let lin = ''
    for (let k = 0; k < 5; k++) {
      const t = tr.update([face(box(300), { embedding: near(A, 0.8, 300 + k) })], k * 200).assigned[0]!
      d.observe(t, match, k * 200)
      lin = t.id
    }
    // the audience member: similar box, another face
    const u = tr.update([face(box(310, 110, 50), { embedding: randomUnit(77) })], 1000)
    const t = u.assigned[0]!
    expect(t.id).not.toBe(lin)
    d.observe(t, match, 1000)
    expect(d.label(t).name).toBeNull()
  })

  it('an overlapping face without a fresh embedding is not verified: its box shows no name', () => {
    const tr = new FaceTracker('c')
    tr.update([face(box(300), { embedding: A })], 0)
    const moved = tr.update([face(box(340), { embedding: null })], 200).assigned[0]!
    expect(moved.verified).toBe(false)
    const still = tr.update([face(box(342), { embedding: A })], 400).assigned[0]!
    expect(still.verified).toBe(true)
    expect(tr.update([face(box(344), { embedding: null })], 600).assigned[0]!.verified).toBe(true)
  })
})

describe('shot-cut detection', () => {
  const img = (f: (x: number, y: number) => number) => {
    const w = 64
    const h = 36
    const data = new Uint8Array(w * h * 3)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3)
    return { data, width: w, height: h }
  }
  it('sees a cut, not a small moving object', () => {
    const base = frameSignature(img((x) => x * 4))
    const moved = frameSignature(img((x, y) => (x > 10 && x < 16 && y < 8 ? 255 : x * 4)))
    const cut = frameSignature(img((x) => 255 - x * 4))
    expect(classifySceneChange(signatureDistance(base, base))).toBe('none')
    expect(classifySceneChange(signatureDistance(base, moved))).toBe('none')
    expect(classifySceneChange(signatureDistance(base, cut))).toBe('cut')
    expect(signatureDistance(base, new Float32Array(3))).toBe(1)
    expect(() => frameSignature({ data: new Uint8Array(3), width: 10, height: 10 })).toThrow(/bad image/)
  })
})

describe('TrackDecider: the quality gate', () => {
  it('a review guess from crops below the gate is never queued and stays an unconfirmed guess', () => {
    const d = new TrackDecider({ queueGate: (q) => q >= 0.3 })
    const w = near(A, 0.4, 15)
    const poor = track('t', [w, w, w])
    const p = d.observe({ ...poor, evidence: poor.evidence.map((e) => ({ ...e, quality: { score: 0.1 } })) }, match, 0)!
    expect(p.plan).toMatchObject({ queue: false, decision: 'auto', verdict: { band: 'review' } })
  })
})
