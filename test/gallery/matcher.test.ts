import { describe, expect, it } from 'vitest'
import { Matcher, type Aggregate } from '../../src/main/gallery/matcher'
import { bandOf } from '../../src/shared/band'
import { dotF32, Int8Scan, quantizeInto, quantizeQueryInto } from '../../src/main/gallery/scan'
import { decodeVector, encodeVector } from '../../src/main/gallery/vectors'
import { l2normalize as normalized } from '../../src/main/math/vector'
import type { MatcherReference } from '../../src/main/contracts'
import type { Candidate } from '../../src/shared/types'
import { DIM, around, atCosine, randomUnit, rng } from './helpers'

const T = { accept: 0.5, review: 0.35 }

describe('bandOf', () => {
  it('gives the three bands with inclusive lower edges', () => {
    expect(bandOf(0.9, T)).toBe('match')
    expect(bandOf(0.5, T)).toBe('match')
    expect(bandOf(0.4999, T)).toBe('review')
    expect(bandOf(0.35, T)).toBe('review')
    expect(bandOf(0.3499, T)).toBe('unknown')
    expect(bandOf(-1, T)).toBe('unknown')
  })
  it("uses the person's own accept threshold when set, the global review threshold always", () => {
    expect(bandOf(0.55, T, 0.6)).toBe('review')
    expect(bandOf(0.6, T, 0.6)).toBe('match')
    expect(bandOf(0.45, T, 0.4)).toBe('match')
    expect(bandOf(0.34, T, 0.4)).toBe('unknown')
    // a personal threshold below the review threshold makes the review band empty for that person
    expect(bandOf(0.31, T, 0.3)).toBe('match')
    expect(bandOf(0.29, T, 0.3)).toBe('unknown')
    expect(bandOf(0.5, T, null)).toBe('match')
  })
  it('treats NaN as unknown', () => {
    expect(bandOf(Number.NaN, T)).toBe('unknown')
  })
})

describe('vectors', () => {
  it('round-trips a Float32Array through base64', () => {
    const v = randomUnit(rng(1))
    const back = decodeVector(encodeVector(v))
    expect(Array.from(back)).toEqual(Array.from(v))
  })
  it('decodes from an unaligned slice and encodes a subarray', () => {
    const big = randomUnit(rng(2), 520)
    const sub = big.subarray(3, 3 + DIM)
    expect(Array.from(decodeVector(encodeVector(sub)))).toEqual(Array.from(sub))
  })
  it('refuses wrong lengths and non-base64 with a clear message', () => {
    expect(() => decodeVector(encodeVector(new Float32Array(10)))).toThrow(/10 values, expected 512/)
    expect(() => decodeVector('abc!')).toThrow(/base64/)
    expect(() => decodeVector(Buffer.from([1, 2, 3]).toString('base64'), null)).toThrow(/whole number/)
  })
  it('normalizes', () => {
    const v = normalized(Float32Array.from([3, 4]))
    expect(v[0]).toBeCloseTo(0.6)
    expect(v[1]).toBeCloseTo(0.8)
  })
})

describe('scan kernel', () => {
  for (const forceJs of [false, true]) {
    it(`int8 × int16 dot products are exact (${forceJs ? 'JS fallback' : 'SIMD'})`, () => {
      const r = rng(3)
      const s = new Int8Scan(DIM, { forceJs })
      const n = 37
      s.reserve(n, 0)
      for (let i = 0; i < n * s.stride; i++) s.rows[i] = Math.floor(r() * 255) - 127
      for (let j = 0; j < DIM; j++) s.query[j] = Math.floor(r() * 65535) - 32767
      s.run(n)
      for (let i = 0; i < n; i++) {
        let d = 0
        for (let j = 0; j < DIM; j++) d += s.rows[i * s.stride + j] * s.query[j]
        expect(s.out[i]).toBe(d)
      }
    })
  }
  it('the kernel writes exactly the first n dot products for every small n', () => {
    const r = rng(13)
    const s = new Int8Scan(DIM)
    s.reserve(9, 0)
    for (let i = 0; i < 9 * s.stride; i++) s.rows[i] = Math.floor(r() * 255) - 127
    for (let j = 0; j < DIM; j++) s.query[j] = Math.floor(r() * 65535) - 32767
    for (let n = 0; n <= 9; n++) {
      s.out.fill(-1)
      s.run(n)
      for (let i = 0; i < 9; i++) {
        let d = 0
        for (let j = 0; j < DIM; j++) d += s.rows[i * s.stride + j] * s.query[j]
        // rows past n are left alone
        expect(s.out[i]).toBe(i < n ? d : -1)
      }
    }
  })
  it('pads odd dimensions and keeps rows after growing', () => {
    const s = new Int8Scan(100)
    expect(s.stride % 32).toBe(0)
    s.reserve(2, 0)
    s.rows[0] = 5
    s.reserve(1000, 2)
    expect(s.rows[0]).toBe(5)
    s.query[0] = 3
    s.run(1000)
    expect(s.out[0]).toBe(15)
    expect(s.out[1]).toBe(0)
  })
  it('quantisation error stays inside the Cauchy–Schwarz bound', () => {
    const r = rng(4)
    const s = new Int8Scan(DIM)
    for (let t = 0; t < 200; t++) {
      const a = randomUnit(r)
      const b = t % 2 ? atCosine(a, 0.6, r) : randomUnit(r)
      const rows = new Int8Array(DIM)
      const qa = quantizeInto(a, rows, 0)
      const qb = quantizeQueryInto(b, s.query, s.stride)
      let dot = 0
      for (let j = 0; j < DIM; j++) dot += rows[j] * s.query[j]
      const approx = dot * qa.scale * qb.scale
      const exact = dotF32(a, 0, b, DIM)
      expect(Math.abs(approx - exact)).toBeLessThanOrEqual(qa.err + qb.err * qa.qnorm + 1e-6)
    }
  })
})

/** Oracle: naive exact scan, aggregate per person, sort like the matcher. */
function naiveTopK(refs: MatcherReference[], query: Float32Array, k: number, aggregate: Aggregate): Candidate[] {
  const q = normalized(query)
  const per = new Map<string, { name: string; scores: number[] }>()
  for (const r of refs) {
    const e = normalized(r.embedding)
    const s = dotF32(e, 0, q, DIM)
    const entry = per.get(r.personId) ?? { name: r.name, scores: [] }
    entry.name = r.name
    entry.scores.push(s)
    per.set(r.personId, entry)
  }
  const list: Candidate[] = []
  for (const [personId, { name, scores }] of per) {
    scores.sort((a, b) => b - a)
    const s = aggregate === 'top2mean' && scores.length > 1 ? (scores[0] + scores[1]) / 2 : scores[0]
    list.push({ personId, name, score: Math.max(-1, Math.min(1, s)) })
  }
  list.sort(
    (a, b) =>
      b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.personId < b.personId ? -1 : 1)
  )
  return list.slice(0, k)
}

function clusteredGallery(
  seed: number,
  persons: number,
  perPerson: number
): { refs: MatcherReference[]; centres: Float32Array[] } {
  const r = rng(seed)
  const centres: Float32Array[] = []
  const refs: MatcherReference[] = []
  for (let p = 0; p < persons; p++) {
    // a few look-alike groups so that many persons score close together
    const centre = p % 7 === 0 || centres.length === 0 ? randomUnit(r) : around(centres[centres.length - 1], 0.03, r)
    centres.push(centre)
    const count = 1 + (p % perPerson)
    for (let j = 0; j < count; j++) {
      refs.push({
        personId: `p${p}`,
        name: `Person ${p % 50}`,
        photoId: `p${p}-${j}`,
        embedding: around(centre, 0.04, r),
        threshold: null
      })
    }
  }
  return { refs, centres }
}

describe('Matcher', () => {
  it('answers unknown with no candidates on an empty gallery', () => {
    const m = new Matcher()
    expect(m.size).toBe(0)
    expect(m.match(randomUnit(rng(5)), T)).toEqual({ band: 'unknown', candidates: [], score: 0 })
  })

  it('ranks persons, not photos, and bands the best person', () => {
    const r = rng(6)
    const q = randomUnit(r)
    const m = new Matcher()
    m.setReferences([
      { personId: 'a', name: 'Ann', photoId: 'a1', embedding: atCosine(q, 0.8, r), threshold: null },
      { personId: 'a', name: 'Ann', photoId: 'a2', embedding: atCosine(q, 0.75, r), threshold: null },
      { personId: 'a', name: 'Ann', photoId: 'a3', embedding: atCosine(q, 0.7, r), threshold: null },
      { personId: 'b', name: 'Bob', photoId: 'b1', embedding: atCosine(q, 0.4, r), threshold: null },
      { personId: 'c', name: 'Cid', photoId: 'c1', embedding: atCosine(q, 0.1, r), threshold: null },
      { personId: 'd', name: 'Dee', photoId: 'd1', embedding: atCosine(q, -0.2, r), threshold: null }
    ])
    expect(m.size).toBe(6)
    expect(m.personCount).toBe(4)
    const res = m.match(q, T, 3)
    expect(res.candidates.map((c) => c.personId)).toEqual(['a', 'b', 'c'])
    expect(res.candidates[0].score).toBeCloseTo(0.8, 5)
    expect(res.candidates[0].name).toBe('Ann')
    expect(res.band).toBe('match')
    expect(res.score).toBeCloseTo(0.8, 5)
    expect(m.match(q, T, 1).candidates).toHaveLength(1)
    expect(m.match(q, T, 10).candidates).toHaveLength(4)
    // k = 0 still bands the best person
    const none = m.match(q, T, 0)
    expect(none.candidates).toEqual([])
    expect(none.band).toBe('match')
  })

  it('uses the per-person threshold of the best person, not of later ones', () => {
    const r = rng(7)
    const q = randomUnit(r)
    const m = new Matcher()
    m.setReferences([
      { personId: 'strict', name: 'Strict', photoId: 's1', embedding: atCosine(q, 0.62, r), threshold: 0.7 },
      { personId: 'lax', name: 'Lax', photoId: 'l1', embedding: atCosine(q, 0.45, r), threshold: 0.4 }
    ])
    expect(m.match(q, T).band).toBe('review')
    m.updatePerson('strict', { threshold: null })
    expect(m.match(q, T).band).toBe('match')
    m.removePerson('strict')
    const res = m.match(q, T)
    expect(res.candidates[0].personId).toBe('lax')
    expect(res.band).toBe('match')
    m.updatePerson('lax', { threshold: null, name: 'Lax 2' })
    expect(m.match(q, T).band).toBe('review')
    expect(m.match(q, T).candidates[0].name).toBe('Lax 2')
  })

  it('bands unknown below the review threshold', () => {
    const r = rng(8)
    const q = randomUnit(r)
    const m = new Matcher()
    m.setReferences([{ personId: 'x', name: 'X', photoId: 'x1', embedding: atCosine(q, 0.2, r), threshold: null }])
    const res = m.match(q, T)
    expect(res.band).toBe('unknown')
    expect(res.candidates).toHaveLength(1)
  })

  for (const aggregate of ['max', 'top2mean'] as const) {
    for (const forceJs of [false, true]) {
      it(`equals a naive float scan (${aggregate}, ${forceJs ? 'JS' : 'SIMD'})`, () => {
        const { refs, centres } = clusteredGallery(9, 300, 4)
        const m = new Matcher({ aggregate, forceJs })
        m.setReferences(refs)
        const r = rng(10)
        for (let t = 0; t < 60; t++) {
          const q =
            t % 3 === 0
              ? randomUnit(r)
              : t % 3 === 1
                ? around(centres[Math.floor(r() * centres.length)], 0.04, r)
                : refs[t].embedding
          const k = 1 + (t % 5)
          const got = m.match(q, T, k)
          const want = naiveTopK(refs, q, k, aggregate)
          expect(got.candidates.map((c) => c.personId)).toEqual(want.map((c) => c.personId))
          got.candidates.forEach((c, i) => expect(c.score).toBeCloseTo(want[i].score, 10))
          expect(got.score).toBeCloseTo(want[0].score, 10)
        }
      })
    }
  }

  it('stays exact when rows arrive in the worst order for the streaming top-k (rising scores, persons interleaved)', () => {
    const r = rng(16)
    const q = randomUnit(r)
    const refs: MatcherReference[] = []
    for (let i = 0; i < 400; i++) {
      const cos = -0.2 + (1.0 * i) / 400
      refs.push({
        personId: `p${i % 37}`,
        name: `P${i % 37}`,
        photoId: `r${i}`,
        embedding: atCosine(q, cos, r),
        threshold: null
      })
    }
    for (const aggregate of ['max', 'top2mean'] as const) {
      const m = new Matcher({ aggregate })
      m.setReferences(refs)
      for (const k of [1, 3, 10, 37, 50]) {
        const got = m.match(q, T, k)
        expect(got.candidates.map((c) => c.personId)).toEqual(naiveTopK(refs, q, k, aggregate).map((c) => c.personId))
      }
      const reversed = new Matcher({ aggregate })
      reversed.setReferences([...refs].reverse())
      expect(reversed.match(q, T, 5).candidates.map((c) => c.personId)).toEqual(
        naiveTopK(refs, q, 5, aggregate).map((c) => c.personId)
      )
    }
  })

  it('handles exact duplicate references and ties deterministically', () => {
    const r = rng(11)
    const e = randomUnit(r)
    const m = new Matcher()
    m.setReferences([
      { personId: 'b', name: 'Bea', photoId: '1', embedding: e, threshold: null },
      { personId: 'a', name: 'Abe', photoId: '2', embedding: e, threshold: null },
      { personId: 'c', name: 'Cal', photoId: '3', embedding: e, threshold: null }
    ])
    expect(m.match(e, T, 3).candidates.map((c) => c.name)).toEqual(['Abe', 'Bea', 'Cal'])
  })

  it('incremental add/remove gives the same answers as a rebuild', () => {
    const { refs } = clusteredGallery(12, 80, 3)
    const inc = new Matcher()
    const r = rng(13)
    for (const ref of refs) inc.addReference(ref)
    const removed = new Set<string>()
    for (let t = 0; t < 60; t++) {
      const victim = refs[Math.floor(r() * refs.length)]
      if (inc.removePhoto(victim.photoId)) removed.add(victim.photoId)
    }
    expect(inc.removePhoto('nope')).toBe(false)
    expect(inc.removePerson('p5')).toBeGreaterThanOrEqual(0)
    const kept = refs.filter((x) => !removed.has(x.photoId) && x.personId !== 'p5')
    const extra: MatcherReference = {
      personId: 'new',
      name: 'New',
      photoId: 'n1',
      embedding: randomUnit(r),
      threshold: null
    }
    inc.addReference(extra)
    kept.push(extra)
    const fresh = new Matcher()
    fresh.setReferences(kept)
    expect(inc.size).toBe(kept.length)
    expect(inc.personCount).toBe(fresh.personCount)
    for (let t = 0; t < 30; t++) {
      const q = t === 0 ? extra.embedding : kept[Math.floor(r() * kept.length)].embedding
      const a = inc.match(q, T, 3)
      const b = fresh.match(q, T, 3)
      expect(a.candidates.map((c) => c.personId)).toEqual(b.candidates.map((c) => c.personId))
      expect(a.score).toBeCloseTo(b.score, 10)
      expect(a.candidates.map((c) => c.personId)).toEqual(naiveTopK(kept, q, 3, 'max').map((c) => c.personId))
    }
  })

  it('refuses bad references without changing what it holds', () => {
    const r = rng(14)
    const m = new Matcher()
    const good: MatcherReference = {
      personId: 'a',
      name: 'A',
      photoId: 'a1',
      embedding: randomUnit(r),
      threshold: null
    }
    m.setReferences([good])
    expect(() => m.setReferences([good, { ...good, photoId: 'a2', embedding: new Float32Array(10) }])).toThrow(/512/)
    expect(() => m.setReferences([good, good])).toThrow(/duplicate/)
    expect(() => m.addReference({ ...good, photoId: 'z', embedding: new Float32Array(DIM) })).toThrow(/zero/)
    expect(() => m.addReference(good)).toThrow(/duplicate/)
    const nan = randomUnit(r)
    nan[3] = Number.NaN
    expect(() => m.addReference({ ...good, photoId: 'n', embedding: nan })).toThrow(/not finite/)
    expect(m.size).toBe(1)
    expect(m.match(good.embedding, T).candidates[0].personId).toBe('a')
    expect(() => m.match(new Float32Array(3), T)).toThrow(/3 values/)
    expect(() => m.match(new Float32Array(DIM), T)).toThrow(/zero/)
  })

  it('does not depend on the scale of the embeddings (cosine)', () => {
    const r = rng(15)
    const e = randomUnit(r)
    const big = e.map((x) => x * 40)
    const m = new Matcher()
    m.setReferences([{ personId: 'a', name: 'A', photoId: '1', embedding: big, threshold: null }])
    expect(
      m.match(
        e.map((x) => x * 0.01),
        T
      ).score
    ).toBeCloseTo(1, 6)
  })
})
