import { describe, expect, it } from 'vitest'
import type { MatchResult } from '../../src/main/contracts'
import { cosine } from '../../src/main/tracking/assign'
import { l2normalizeOrNull as l2normalize } from '../../src/main/math/vector'
import { decideTrack, poolEmbeddings, voteCandidates } from '../../src/main/tracking/pooling'
import type { Band } from '../../src/shared/types'
import { near, randomUnit } from './helpers'

/** A tiny gallery matcher: cosine against one reference per person, fixed thresholds. */
function matcherFor(
  people: Record<string, Float32Array>,
  accept = 0.5,
  review = 0.3
): (e: Float32Array) => MatchResult {
  return (e) => {
    const candidates = Object.entries(people)
      .map(([personId, ref]) => ({ personId, name: personId.toUpperCase(), score: cosine(e, ref) }))
      .sort((a, b) => b.score - a.score)
    const score = candidates[0]?.score ?? 0
    const band: Band = score >= accept ? 'match' : score >= review ? 'review' : 'unknown'
    return { band, candidates, score }
  }
}

describe('poolEmbeddings', () => {
  it('is the quality-weighted mean of normalised embeddings, re-normalised', () => {
    const a = Float32Array.of(3, 0) // norm 3: normalising first stops it from dominating
    const b = Float32Array.of(0, 1)
    const p = poolEmbeddings([
      { embedding: a, quality: { score: 0.5 } },
      { embedding: b, quality: { score: 0.5 } }
    ])!
    expect(p[0]).toBeCloseTo(Math.SQRT1_2, 6)
    expect(p[1]).toBeCloseTo(Math.SQRT1_2, 6)
    const q = poolEmbeddings([
      { embedding: a, quality: { score: 0.75 } },
      { embedding: b, quality: { score: 0.25 } }
    ])!
    expect(q[0]! / q[1]!).toBeCloseTo(3, 5)
    expect(Math.hypot(q[0]!, q[1]!)).toBeCloseTo(1, 6)
  })

  it('skips missing/zero embeddings, copes with zero quality, refuses mixed lengths', () => {
    expect(poolEmbeddings([])).toBeNull()
    expect(poolEmbeddings([{ embedding: null, quality: { score: 1 } }])).toBeNull()
    expect(poolEmbeddings([{ embedding: new Float32Array(4), quality: { score: 1 } }])).toBeNull()
    const one = poolEmbeddings([{ embedding: Float32Array.of(0, 2), quality: { score: 0 } }])!
    expect([...one]).toEqual([0, 1])
    expect(() =>
      poolEmbeddings([
        { embedding: Float32Array.of(1, 0), quality: { score: 1 } },
        { embedding: Float32Array.of(1, 0, 0), quality: { score: 1 } }
      ])
    ).toThrow(/length mismatch/)
    expect(l2normalize(Float32Array.of(NaN, 1))).toBeNull()
  })

  it('pooled noisy crops sit closer to the identity than the average single crop', () => {
    const id = randomUnit(42)
    const crops = [0, 1, 2, 3, 4].map((i) => near(id, 0.45, 500 + i))
    const pooled = poolEmbeddings(crops.map((embedding) => ({ embedding, quality: { score: 0.5 } })))!
    const single = crops.map((c) => cosine(c, id)).reduce((s, x) => s + x, 0) / crops.length
    expect(cosine(pooled, id)).toBeGreaterThan(single + 0.2)
  })
})

describe('voteCandidates', () => {
  it('weights top-1 votes and ignores empty results', () => {
    const r = (id: string, score: number): MatchResult => ({
      band: 'match',
      candidates: [{ personId: id, name: id, score }],
      score
    })
    const empty: MatchResult = { band: 'unknown', candidates: [], score: 0 }
    const votes = voteCandidates([r('a', 0.6), r('b', 0.7), r('a', 0.5), empty], [0.2, 0.9, 0.3, 1])
    expect(votes.map((v) => [v.personId, v.votes, v.bestScore])).toEqual([
      ['b', 1, 0.7],
      ['a', 2, 0.6]
    ])
    expect(votes[1]!.weight).toBeCloseTo(0.5, 10)
    expect(() => voteCandidates([empty], [])).toThrow()
  })
})

describe('decideTrack', () => {
  const alice = randomUnit(1)
  const bob = randomUnit(2)
  const match = matcherFor({ alice, bob })

  it('matches the pooled evidence and reports agreement', () => {
    const ev = [0.8, 0.6, 0.7].map((s, i) => ({ embedding: near(alice, s, 10 + i), quality: { score: 0.5 + i / 10 } }))
    const d = decideTrack(ev, match)!
    expect(d.band).toBe('match')
    expect(d.candidates[0]!.personId).toBe('alice')
    expect(d.score).toBeGreaterThan(0.7)
    expect(d.used).toBe(3)
    expect(d.agreement).toBe(1)
    expect(d.downgraded).toBe(false)
  })

  it('downgrades a pooled match to review when the crops disagree', () => {
    // two alice-ish crops, one strong bob crop: the pool leans alice, the vote is split
    const ev = [
      { embedding: near(alice, 0.75, 20), quality: { score: 0.6 } },
      { embedding: near(bob, 0.95, 21), quality: { score: 0.9 } },
      { embedding: near(alice, 0.75, 22), quality: { score: 0.6 } }
    ]
    const lenient = decideTrack(ev, match, { minAgreement: 0 })!
    expect(lenient.band).toBe('match')
    expect(lenient.agreement).toBeNull()
    const d = decideTrack(ev, match, { minAgreement: 0.6 })!
    expect(d.candidates[0]!.personId).toBe('alice')
    expect(d.agreement).toBeCloseTo(1.2 / 2.1, 6)
    expect(d.band).toBe('review')
    expect(d.downgraded).toBe(true)
  })

  it('null without embeddings; unknown stranger stays unknown', () => {
    expect(decideTrack([{ embedding: null, quality: { score: 1 } }], match)).toBeNull()
    const stranger = randomUnit(99)
    const d = decideTrack([{ embedding: stranger, quality: { score: 1 } }], match)!
    expect(d.band).toBe('unknown')
    expect(d.agreement).toBeNull() // a single crop has nothing to cross-check
  })
})
