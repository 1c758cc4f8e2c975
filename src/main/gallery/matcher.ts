// Exact nearest-person search over the gallery.
//
// Layout: every reference is one row of a single contiguous Float32Array (n × dim, unit length) plus
// an int8 copy scanned by the SIMD kernel of scan.ts. The int8 scan gives each reference an
// approximate score a and a rigorous error bound E (Cauchy–Schwarz on the quantisation residuals), so
// its true score lies in [a − E, a + E]. Persons whose upper bound cannot reach the k-th best lower
// bound are dropped; the rest are re-scored exactly in float32. Results equal a naive float scan.
//
// Per-person score: max over the person's references (default) or 'top2mean' (mean of the two best,
// or the only one). Measured with bench/aggregate-eval.ts (40 random splits, real pipeline): both give 100 %
// rank-1 and EER 0 on lfw-subset (3 refs/person) and gallery-bbt (2 refs/person), and both keep every
// stranger 'unknown'; top2mean separates slightly more (d' 8.44 vs 8.17, 7.88 vs 7.66) but, because
// averaging lowers genuine scores, at the default thresholds it sends 2–2.5× as many enrolled
// people to review (10 vs 4 of 2520, 23 vs 10 of 840). Max is the default: fewer operator reviews,
// same safety, and it stays high when only one reference matches the pose of the query.
import type { Candidate, Thresholds } from '../../shared/types'
import type { MatchResult, MatcherReference } from '../contracts'
import { EMBEDDING_DIM } from './vectors'
import { bandOf } from '../../shared/band'
import { Int8Scan, dotF32, quantizeInto, quantizeQueryInto } from './scan'

export type Aggregate = 'max' | 'top2mean'

export interface MatcherOptions {
  dim?: number
  aggregate?: Aggregate
  /** skip the WebAssembly kernel (tests of the fallback) */
  forceJs?: boolean
}

interface PersonSlot {
  id: string
  name: string
  threshold: number | null
  /** row indices of this person's references; empty = free slot */
  rows: number[]
}

/** Float rounding in the bound arithmetic itself; far below any meaningful score difference. */
const BOUND_SLACK = 1e-5

export class Matcher {
  readonly dim: number
  readonly aggregate: Aggregate
  private n = 0
  private cap = 0
  private f32 = new Float32Array(0)
  private readonly scan: Int8Scan
  /** largest quantisation residual ‖r − r'‖ and ‖r'‖ over references (an upper bound after removals) */
  private maxErr = 0
  private maxQnorm = 0
  private photoIds: string[] = []
  private readonly photoIndex = new Map<string, number>()
  private persons: PersonSlot[] = []
  private readonly personIndex = new Map<string, number>()
  private freeSlots: number[] = []
  /** references per person slot (0 = free), typed for the per-query loops */
  private counts = new Int32Array(0)
  // per-query scratch, sized to persons.length
  private a1 = new Float64Array(0)
  private a2 = new Float64Array(0)
  /** per person: id of the last query that marked it a candidate (no clearing between queries) */
  private stamps = new Int32Array(0)
  private queryId = 0
  private nearRows = new Int32Array(1024)
  /** streaming top-k of candidatesMax, kept across queries so a match allocates nothing large */
  private topP = new Int32Array(8)
  private topV = new Float64Array(8)
  private readonly q: Float32Array
  /** references re-scored in float32 by the last match (diagnostics: how well the int8 bound pruned) */
  lastRescored = 0

  constructor(opts: MatcherOptions = {}) {
    this.dim = opts.dim ?? EMBEDDING_DIM
    this.aggregate = opts.aggregate ?? 'max'
    this.scan = new Int8Scan(this.dim, { forceJs: opts.forceJs })
    this.q = new Float32Array(this.dim)
  }

  /** number of references */
  get size(): number {
    return this.n
  }

  get personCount(): number {
    return this.personIndex.size
  }

  /** true when the WebAssembly SIMD kernel is in use */
  get simd(): boolean {
    return this.scan.simd
  }

  /** Replaces everything. Validates all references first: on error nothing changes. */
  setReferences(refs: readonly MatcherReference[]): void {
    const seen = new Set<string>()
    for (const r of refs) {
      this.checkRef(r)
      if (seen.has(r.photoId)) throw new Error(`duplicate reference photo id ${r.photoId}`)
      seen.add(r.photoId)
    }
    this.n = 0
    this.photoIds = []
    this.photoIndex.clear()
    this.persons = []
    this.personIndex.clear()
    this.freeSlots = []
    this.maxErr = 0
    this.maxQnorm = 0
    this.counts = new Int32Array(Math.max(16, new Set(refs.map((r) => r.personId)).size))
    this.reserve(refs.length, true)
    for (const r of refs) this.append(r)
  }

  addReference(ref: MatcherReference): void {
    this.checkRef(ref)
    if (this.photoIndex.has(ref.photoId)) throw new Error(`duplicate reference photo id ${ref.photoId}`)
    if (this.n === this.cap) this.reserve(Math.max(16, Math.ceil(this.cap * 1.5)), false)
    this.append(ref)
  }

  /** Removes one reference; false when unknown. */
  removePhoto(photoId: string): boolean {
    const i = this.photoIndex.get(photoId)
    if (i === undefined) return false
    const p = this.scan.persons[i]
    const slot = this.persons[p]
    slot.rows.splice(slot.rows.indexOf(i), 1)
    const last = this.n - 1
    if (i !== last) {
      // swap-remove keeps the rows contiguous
      this.f32.copyWithin(i * this.dim, last * this.dim, (last + 1) * this.dim)
      const lp = this.scan.persons[last]
      this.scan.moveRow(last, i)
      const lrows = this.persons[lp].rows
      lrows[lrows.indexOf(last)] = i
      const movedId = this.photoIds[last]
      this.photoIds[i] = movedId
      this.photoIndex.set(movedId, i)
    }
    this.scan.clearRow(last)
    this.photoIds.pop()
    this.photoIndex.delete(photoId)
    this.n = last
    this.counts[p]--
    if (this.counts[p] === 0) {
      this.personIndex.delete(slot.id)
      this.freeSlots.push(p)
    }
    return true
  }

  /** Removes all references of a person; returns how many. */
  removePerson(personId: string): number {
    const p = this.personIndex.get(personId)
    if (p === undefined) return 0
    const ids = this.persons[p].rows.map((i) => this.photoIds[i])
    for (const id of ids) this.removePhoto(id)
    return ids.length
  }

  /** Name or threshold changed: no rescan needed. */
  updatePerson(personId: string, info: { name?: string; threshold?: number | null }): void {
    const p = this.personIndex.get(personId)
    if (p === undefined) return
    const slot = this.persons[p]
    if (info.name !== undefined) slot.name = info.name
    if (info.threshold !== undefined) slot.threshold = info.threshold
  }

  /**
   * Top-k persons for an embedding and the band of the best one (its own threshold if set).
   * Candidates are distinct persons, best first; ties by name so results are stable.
   */
  match(embedding: Float32Array, thresholds: Thresholds, k = 3): MatchResult {
    if (embedding.length !== this.dim) throw new Error(`embedding has ${embedding.length} values, expected ${this.dim}`)
    const q = this.q
    let ss = 0
    for (let j = 0; j < this.dim; j++) {
      const x = embedding[j]
      ss += x * x
    }
    if (!(ss > 0) || !Number.isFinite(ss)) throw new Error('embedding is zero or not finite')
    const inv = 1 / Math.sqrt(ss)
    for (let j = 0; j < this.dim; j++) q[j] = embedding[j] * inv
    const n = this.n
    const want = Math.max(0, Math.floor(k))
    if (n === 0) {
      this.lastRescored = 0
      return { band: 'unknown', candidates: [], score: 0 }
    }

    const qq = quantizeQueryInto(q, this.scan.query, this.scan.stride)

    // Approximate score of reference i: a_i = sq · dot_i · scale_i. Its error is at most
    // ‖q‖·‖r − r'‖ + ‖q − q'‖·‖r'‖ (Cauchy–Schwarz on the residuals, ‖q‖ = 1); one bound E, the
    // maximum over references, keeps the per-row loop to one multiply and one compare.
    const E = this.maxErr + qq.err * this.maxQnorm + BOUND_SLACK
    this.scan.run(n)
    // kk ≥ 1 because the band needs the best person even when k = 0
    const kk = Math.min(Math.max(want, 1), this.personIndex.size)
    // in units of out·scale, i.e. before multiplying by the query scale
    const slack = (2 * E) / qq.scale
    const top2 = this.aggregate === 'top2mean'
    const cands = top2 ? this.candidatesTop2(n, kk, slack) : this.candidatesMax(n, kk, slack)

    const f32 = this.f32
    const dim = this.dim
    const scored: Candidate[] = []
    const thresholdsOf: (number | null)[] = []
    let rescored = 0
    for (const p of cands) {
      const slot = this.persons[p]
      let s1 = -Infinity
      let s2 = -Infinity
      rescored += slot.rows.length
      for (const i of slot.rows) {
        const s = dotF32(f32, i * dim, q, dim)
        if (s > s1) {
          s2 = s1
          s1 = s
        } else if (s > s2) s2 = s
      }
      const s = top2 && s2 !== -Infinity ? (s1 + s2) / 2 : s1
      scored.push({ personId: slot.id, name: slot.name, score: clampCos(s) })
      thresholdsOf.push(slot.threshold)
    }
    this.lastRescored = rescored
    const order = scored.map((_, i) => i)
    order.sort(
      (a, b) =>
        scored[b].score - scored[a].score ||
        cmp(scored[a].name, scored[b].name) ||
        cmp(scored[a].personId, scored[b].personId)
    )
    const best = scored[order[0]]
    return {
      band: bandOf(best.score, thresholds, thresholdsOf[order[0]]),
      candidates: order.slice(0, want).map((i) => scored[i]),
      score: best.score
    }
  }

  /**
   * Persons that can still be in the top kk under 'max', from the approximate row scores
   * a_i = out[i]·scale[i] (true score within ±E of sq·a_i).
   *
   * One pass streams the rows keeping the kk best distinct persons by their best row; a row that does
   * not beat the current kk-th value cannot change the set, so the common path is one multiply and
   * one well-predicted compare. Its final kk-th value T is exact, so at least kk persons truly score
   * ≥ sq·T − E, and a person whose best row is below T − slack (slack = 2E/sq) truly scores below
   * that and cannot be in the top kk. The candidates are the persons having a row at or above it.
   */
  private candidatesMax(n: number, kk: number, slack: number): number[] {
    const out = this.scan.out
    const scale = this.scan.scales
    const personOf = this.scan.persons
    if (this.topP.length < kk) {
      this.topP = new Int32Array(kk)
      this.topV = new Float64Array(kk)
    }
    const topP = this.topP
    const topV = this.topV
    let size = 0
    let kth = -Infinity
    // rows within slack of the running kk-th value; the kk-th value only rises, so this is a superset
    // of the rows within slack of the final one, and a second pass over all rows is not needed
    let near = this.nearRows
    let nNear = 0
    let floor = -Infinity
    for (let i = 0; i < n; i++) {
      // nearly every row fails this test: a loop of its own keeps that path free of the state below
      while (i < n && out[i] * scale[i] < floor) i++
      if (i === n) break
      const a = out[i] * scale[i]
      if (nNear === near.length) {
        const grown = new Int32Array(near.length * 2)
        grown.set(near)
        near = grown
        this.nearRows = grown
      }
      near[nNear++] = i
      if (a <= kth) continue
      const p = personOf[i]
      let j = 0
      while (j < size && topP[j] !== p) j++
      if (j < size) {
        if (a > topV[j]) topV[j] = a
      } else if (size < kk) {
        topP[size] = p
        topV[size] = a
        size++
      } else {
        let m = 0
        for (let t = 1; t < size; t++) if (topV[t] < topV[m]) m = t
        topP[m] = p
        topV[m] = a
      }
      if (size === kk) {
        kth = topV[0]
        for (let t = 1; t < size; t++) if (topV[t] < kth) kth = topV[t]
        floor = kth - slack
      }
    }
    const stamp = this.stampFor(this.persons.length)
    if (this.queryId >= 0x7fffffff) {
      stamp.fill(0)
      this.queryId = 0
    }
    const id = ++this.queryId
    const cands: number[] = []
    for (let t = 0; t < nNear; t++) {
      const i = near[t]
      if (out[i] * scale[i] < floor) continue
      const p = personOf[i]
      if (stamp[p] !== id) {
        stamp[p] = id
        cands.push(p)
      }
    }
    return cands
  }

  /** The same for 'top2mean', through per-person arrays (the two best rows of every person). */
  private candidatesTop2(n: number, kk: number, slack: number): number[] {
    const P = this.persons.length
    this.ensureScratch(P)
    const A1 = this.a1
    const A2 = this.a2
    A1.fill(-Infinity, 0, P)
    A2.fill(-Infinity, 0, P)
    const out = this.scan.out
    const scale = this.scan.scales
    const personOf = this.scan.persons
    for (let i = 0; i < n; i++) {
      const a = out[i] * scale[i]
      const p = personOf[i]
      if (a > A1[p]) {
        A2[p] = A1[p]
        A1[p] = a
      } else if (a > A2[p]) A2[p] = a
    }
    for (let p = 0; p < P; p++) if (A2[p] !== -Infinity) A1[p] = (A1[p] + A2[p]) / 2
    // the mean of the two best is monotone in the row scores, so the same ±E argument holds
    const cutoff = kthLargest(A1, P, kk, this.counts) - slack
    const cands: number[] = []
    for (let p = 0; p < P; p++) if (this.counts[p] > 0 && A1[p] >= cutoff) cands.push(p)
    return cands
  }

  private stampFor(P: number): Int32Array {
    if (this.stamps.length < P) this.stamps = new Int32Array(Math.max(16, Math.ceil(P * 1.5)))
    return this.stamps
  }

  private checkRef(r: MatcherReference): void {
    if (!r.personId) throw new Error('reference without person id')
    if (!r.photoId) throw new Error(`reference of ${r.personId} without photo id`)
    if (!(r.embedding instanceof Float32Array) || r.embedding.length !== this.dim) {
      throw new Error(`reference ${r.photoId}: embedding must be a Float32Array of ${this.dim} values`)
    }
    let ss = 0
    for (let j = 0; j < this.dim; j++) ss += r.embedding[j] * r.embedding[j]
    if (!(ss > 0) || !Number.isFinite(ss)) throw new Error(`reference ${r.photoId}: embedding is zero or not finite`)
    if (r.threshold !== null && !(r.threshold >= -1 && r.threshold <= 1)) {
      throw new Error(`reference ${r.photoId}: threshold ${r.threshold} outside -1..1`)
    }
  }

  private reserve(cap: number, fresh: boolean): void {
    const keep = fresh ? 0 : this.n
    const dim = this.dim
    const f32 = new Float32Array(cap * dim)
    if (keep > 0) f32.set(this.f32.subarray(0, keep * dim))
    this.f32 = f32
    this.scan.reserve(cap, keep)
    this.cap = cap
  }

  private append(r: MatcherReference): void {
    let p = this.personIndex.get(r.personId)
    if (p === undefined) {
      const slot: PersonSlot = { id: r.personId, name: r.name, threshold: r.threshold, rows: [] }
      const free = this.freeSlots.pop()
      if (free !== undefined) {
        p = free
        this.persons[p] = slot
      } else {
        p = this.persons.length
        this.persons.push(slot)
      }
      this.personIndex.set(r.personId, p)
      if (p >= this.counts.length) {
        const counts = new Int32Array(Math.max(16, Math.ceil((p + 1) * 1.5)))
        counts.set(this.counts)
        this.counts = counts
      }
    } else {
      // the latest reference carries the current name/threshold
      this.persons[p].name = r.name
      this.persons[p].threshold = r.threshold
    }
    const i = this.n
    const dim = this.dim
    const e = r.embedding
    let ss = 0
    for (let j = 0; j < dim; j++) ss += e[j] * e[j]
    const inv = 1 / Math.sqrt(ss)
    const row = this.f32.subarray(i * dim, (i + 1) * dim)
    for (let j = 0; j < dim; j++) row[j] = e[j] * inv
    const qz = quantizeInto(row, this.scan.rows, i * this.scan.stride)
    this.scan.scales[i] = qz.scale
    this.scan.persons[i] = p
    if (qz.err > this.maxErr) this.maxErr = qz.err
    if (qz.qnorm > this.maxQnorm) this.maxQnorm = qz.qnorm
    this.counts[p]++
    this.persons[p].rows.push(i)
    this.photoIds[i] = r.photoId
    this.photoIndex.set(r.photoId, i)
    this.n = i + 1
  }

  private ensureScratch(P: number): void {
    if (this.a1.length >= P) return
    const size = Math.max(16, Math.ceil(P * 1.5))
    this.a1 = new Float64Array(size)
    this.a2 = new Float64Array(size)
  }
}

/** k-th largest of v[p] over occupied slots (k ≥ 1, at most the number of occupied slots). */
function kthLargest(v: Float64Array, P: number, k: number, counts: Int32Array): number {
  // k is tiny (top-k for the UI): keep a sorted array of the k best
  const best: number[] = []
  for (let p = 0; p < P; p++) {
    if (counts[p] === 0) continue
    const x = v[p]
    if (best.length === k && x <= best[k - 1]) continue
    let at = best.length
    while (at > 0 && best[at - 1] < x) at--
    best.splice(at, 0, x)
    if (best.length > k) best.pop()
  }
  return best[k - 1]
}

function clampCos(s: number): number {
  return s > 1 ? 1 : s < -1 ? -1 : s
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
