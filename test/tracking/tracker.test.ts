import { describe, expect, it } from 'vitest'
import { FaceTracker } from '../../src/main/tracking/tracker'
import { face, near, randomUnit, wantEmbeddings } from './helpers'

const box = (x: number, y = 100, s = 40) => ({ x, y, w: s, h: s })

describe('FaceTracker association', () => {
  it('follows one face across frames with a stable id', () => {
    const tr = new FaceTracker('cam1')
    const u0 = tr.update([face(box(100))], 0)
    expect(u0.created.map((t) => t.id)).toEqual(['cam1-1'])
    const u1 = tr.update([face(box(105))], 200)
    const u2 = tr.update([face(box(110))], 400)
    expect(u1.created).toEqual([])
    expect(u2.assigned[0]).toMatchObject({
      id: 'cam1-1',
      hits: 3,
      firstSeen: 0,
      lastSeen: 400,
      box: box(110),
      confirmed: true
    })
    expect(u0.assigned[0]!.confirmed).toBe(false)
  })

  it('keeps two side-by-side faces apart whatever their input order', () => {
    const tr = new FaceTracker('c')
    tr.update([face(box(100)), face(box(300))], 0)
    const u = tr.update([face(box(306)), face(box(104))], 200)
    expect(u.assigned.map((t) => t.id)).toEqual(['c-2', 'c-1'])
    expect(u.created).toEqual([])
  })

  it('ends a track after maxAgeMs without a face and never reuses its id', () => {
    const tr = new FaceTracker('cam1', { maxAgeMs: 2000 })
    tr.update([face(box(100))], 0)
    expect(tr.update([], 1500).ended).toEqual([])
    expect(tr.update([], 2000).ended).toEqual([]) // exactly maxAge: still alive
    const u = tr.update([], 2001)
    expect(u.ended.map((t) => t.id)).toEqual(['cam1-1'])
    expect(u.active).toEqual([])
    expect(tr.update([face(box(100))], 2100).created.map((t) => t.id)).toEqual(['cam1-2'])
  })

  it('survives a short gap (missed detections) within maxAgeMs', () => {
    const tr = new FaceTracker('c', { maxAgeMs: 2000 })
    tr.update([face(box(100))], 0)
    tr.update([], 600)
    tr.update([], 1200)
    expect(tr.update([face(box(104))], 1800).assigned[0]!.id).toBe('c-1')
  })

  it('predicts constant velocity so a face moving faster than its overlap stays on its track', () => {
    const tr = new FaceTracker('c')
    const xs = [100, 120, 152, 184, 216]
    const ids = xs.map((x, i) => tr.update([face(box(x))], i * 200).assigned[0]!.id)
    expect(new Set(ids)).toEqual(new Set(['c-1']))
  })

  it('uses appearance: refuses to merge a different person at the same place, links the same person after a jump', () => {
    const alice = randomUnit(1)
    const bob = randomUnit(2)
    const tr = new FaceTracker('c')
    tr.update([face(box(100), { embedding: alice })], 0)
    // Bob steps into Alice's box: full overlap, different face → a new track
    const u = tr.update([face(box(100), { embedding: near(bob, 0.9, 5) })], 200)
    expect(u.created.length).toBe(1)
    // Alice reappears 80 px away (2 box sizes; zero overlap) with a similar embedding → her track
    const v = tr.update(
      [face(box(180), { embedding: near(alice, 0.7, 6) }), face(box(100), { embedding: near(bob, 0.8, 7) })],
      400
    )
    expect(v.assigned.map((t) => t.id)).toEqual(['c-1', 'c-2'])
    // without embeddings the same jump is a new person
    const plain = new FaceTracker('p')
    plain.update([face(box(100))], 0)
    expect(plain.update([face(box(180))], 200).created.length).toBe(1)
  })

  it('keeps identities when two people meet and turn back (motion alone would swap them)', () => {
    const a = randomUnit(11)
    const b = randomUnit(12)
    // A walks right, B walks left, they meet, then each goes back where they came from
    const xa = [100, 115, 130, 145, 150, 150, 145, 130, 115, 100]
    const xb = [200, 185, 170, 155, 150, 150, 155, 170, 185, 200]
    const run = (withEmbeddings: boolean): { a: string[]; b: string[] } => {
      const tr = new FaceTracker('c')
      const ids = { a: [] as string[], b: [] as string[] }
      xa.forEach((x, i) => {
        const u = tr.update(
          [
            face(box(xb[i]!), { embedding: withEmbeddings ? near(b, 0.8, 100 + i) : null }),
            face(box(x), { embedding: withEmbeddings ? near(a, 0.8, 200 + i) : null })
          ],
          i * 200
        )
        ids.b.push(u.assigned[0]!.id)
        ids.a.push(u.assigned[1]!.id)
      })
      return ids
    }
    const withE = run(true)
    expect(new Set(withE.a).size).toBe(1)
    expect(new Set(withE.b).size).toBe(1)
    expect(withE.a[0]).not.toBe(withE.b[0])
    // the motion-only tracker follows the momentum through the meeting point and swaps
    const plain = run(false)
    expect(plain.a.at(-1)).toBe(plain.b[0])
  })
})

describe('FaceTracker evidence', () => {
  it('keeps the best K crops (embedded first, then quality) and releases the others', () => {
    const tr = new FaceTracker<string>('c', { keep: 3 })
    const e = randomUnit(3)
    const qs = [0.3, 0.9, 0.5, 0.7, 0.2]
    const released: string[] = []
    qs.forEach((q, i) => {
      const u = tr.update([face(box(100 + i), { embedding: near(e, 0.9, i), q })], i * 200, [`crop${i}`])
      released.push(...u.released)
    })
    // a sharper crop without an embedding is still ranked below the embedded ones
    released.push(...tr.update([face(box(106), { q: 0.99 })], 1200, ['noemb']).released)
    const t = tr.get('c-1')!
    expect(t.evidence.map((x) => x.ref)).toEqual(['crop1', 'crop3', 'crop2'])
    expect(t.evidence.map((x) => x.quality.score)).toEqual([0.9, 0.7, 0.5])
    expect(released.sort()).toEqual(['crop0', 'crop4', 'noemb'])
    expect(t.embeddings).toBe(5)
  })
})

describe('FaceTracker embedding policy', () => {
  it('embeds new tracks at once, then ≤ 4/s while undecided and ≤ 2/s once decided', () => {
    const tr = new FaceTracker('c')
    expect(wantEmbeddings(tr, 0)).toBe(true) // nothing tracked: any face would be new
    const u = tr.update([face(box(100))], 0)
    const t = u.created[0]!
    expect(tr.shouldEmbed(t, 0)).toBe(true)
    tr.update([face(box(101), { embedding: randomUnit(1) })], 100)
    expect(tr.shouldEmbed(t, 200)).toBe(false)
    expect(wantEmbeddings(tr, 200)).toBe(false)
    expect(tr.shouldEmbed(t, 350)).toBe(true)
    tr.markDecided(t.id)
    expect(tr.shouldEmbed(t, 350)).toBe(false)
    expect(tr.shouldEmbed(t, 600)).toBe(true)
    expect(tr.get(t.id)!.decided).toBe(true)
    expect(tr.shouldEmbed({ id: 'c-404' }, 600)).toBe(false)
  })

  it('bounds the embeddings a frame-level policy lets through', () => {
    // simulate 10 s at 10 fps, embedding only frames the tracker asks for
    const tr = new FaceTracker('c')
    const e = randomUnit(4)
    let embedded = 0
    for (let i = 0; i < 100; i++) {
      const at = i * 100
      const want = wantEmbeddings(tr, at)
      if (want) embedded++
      tr.update([face(box(100 + (i % 3)), { embedding: want ? near(e, 0.9, i) : null })], at)
      if (i === 30) tr.markDecided('c-1')
    }
    // undecided 3 s at ≤ 4/s + decided 7 s at ≤ 2/s ≈ 12 + 14
    expect(embedded).toBeLessThanOrEqual(28)
    expect(embedded).toBeGreaterThanOrEqual(20)
  })
})

describe('FaceTracker input checks', () => {
  it('rejects bad input with a clear error and keeps its state', () => {
    const tr = new FaceTracker('c')
    tr.update([face(box(100))], 0)
    expect(() => tr.update([face({ x: NaN, y: 0, w: 10, h: 10 })], 100)).toThrow(/face 0 has an invalid box/)
    expect(() => tr.update([face({ x: 0, y: 0, w: 0, h: 10 })], 100)).toThrow(/invalid box/)
    expect(() => tr.update([face(box(1))], Number.NaN)).toThrow(/finite/)
    expect(() => tr.update([face(box(1))], 100, [])).toThrow(/0 refs for 1 faces/)
    expect(() => new FaceTracker('')).toThrow()
    expect(tr.active().map((t) => t.id)).toEqual(['c-1'])
  })

  it('tolerates the clock stepping back', () => {
    const tr = new FaceTracker('c')
    tr.update([face(box(100))], 10_000)
    const u = tr.update([face(box(101))], 9_000)
    expect(u.assigned[0]!.id).toBe('c-1')
    expect(u.assigned[0]!.lastSeen).toBe(10_000)
  })

  it('flush ends everything', () => {
    const tr = new FaceTracker('c')
    tr.update([face(box(100)), face(box(300))], 0)
    expect(tr.flush().map((t) => t.id)).toEqual(['c-1', 'c-2'])
    expect(tr.active()).toEqual([])
  })
})
