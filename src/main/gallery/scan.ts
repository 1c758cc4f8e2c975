// Inner loops of the matcher.
//
// Why int8 + WebAssembly: an exact float32 scan of 100 000 × 512 references reads 205 MB per query,
// which is ~8 ms of memory bandwidth alone on the target machine (and ~45 ms as a scalar JS loop),
// so it cannot meet the 5 ms p99 budget. The matcher therefore scans an int8 copy (51 MB) with a
// SIMD kernel, bounds the quantisation error per reference, and re-scores only the few references
// that could still be in the top k against the float32 originals, so results stay exact.
//
// The kernel is a hand-assembled WebAssembly module (src/main/wasm/asm.ts, no toolchain dependency); if the runtime has no
// SIMD support the same int8 scan runs as plain JS, slower but identical.
import { buildModule, I32, op, v, V128, WASM_PAGE, webAssembly, type WasmMemory, type WasmModule } from '../wasm/asm'

/** Bytes per int8 row: the kernel consumes 32 bytes per inner iteration, rows are zero-padded. */
export function int8Stride(dim: number): number {
  return Math.ceil(dim / 32) * 32
}

/** Exact dot product of `a[aOff .. aOff+dim)` with `b[0 .. dim)`, float64 accumulation. */
export function dotF32(a: Float32Array, aOff: number, b: Float32Array, dim: number): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let j = 0
  for (; j + 3 < dim; j += 4) {
    s0 += a[aOff + j] * b[j]
    s1 += a[aOff + j + 1] * b[j + 1]
    s2 += a[aOff + j + 2] * b[j + 2]
    s3 += a[aOff + j + 3] * b[j + 3]
  }
  for (; j < dim; j++) s0 += a[aOff + j] * b[j]
  return s0 + s1 + s2 + s3
}

/** Reference exact scan: out[i] = refs[i] · q. Used as fallback and as the oracle in tests. */
export function scanF32(
  refs: Float32Array,
  n: number,
  dim: number,
  q: Float32Array,
  out: Float64Array | Float32Array
): void {
  for (let i = 0, o = 0; i < n; i++, o += dim) out[i] = dotF32(refs, o, q, dim)
}

export interface Quantized {
  /** value of one int8 step */
  scale: number
  /** ‖v − scale·v̂‖₂: the part of v the int8 copy lost */
  err: number
  /** ‖scale·v̂‖₂ */
  qnorm: number
}

/**
 * Symmetric int8 quantisation of v into dst[off .. off+v.length) with one scale per vector, range
 * ±127 so that a sum of two int8 products fits int16 in the kernel. Padding bytes are left untouched
 * (the caller keeps them zero).
 */
export function quantizeInto(v: Float32Array, dst: Int8Array, off: number): Quantized {
  let maxAbs = 0
  for (let j = 0; j < v.length; j++) {
    const a = Math.abs(v[j])
    if (a > maxAbs) maxAbs = a
  }
  if (maxAbs === 0) {
    for (let j = 0; j < v.length; j++) dst[off + j] = 0
    return { scale: 0, err: 0, qnorm: 0 }
  }
  // float32 scale: the kernel multiplies by the stored float32 value, so the residual is measured
  // against exactly that
  const scale = Math.fround(maxAbs / 127)
  const inv = 1 / scale
  let errSq = 0
  let qSq = 0
  for (let j = 0; j < v.length; j++) {
    let qi = Math.round(v[j] * inv)
    if (qi > 127) qi = 127
    else if (qi < -127) qi = -127
    dst[off + j] = qi
    const back = qi * scale
    const d = v[j] - back
    errSq += d * d
    qSq += back * back
  }
  return { scale, err: Math.sqrt(errSq), qnorm: Math.sqrt(qSq) }
}

/**
 * Int16 quantisation of the query. The range is capped so the kernel's int32 lanes cannot overflow:
 * each lane sums stride/4 products of |int8| ≤ 127 and |int16| ≤ qmax.
 */
export function quantizeQueryInto(q: Float32Array, dst: Int16Array, stride: number): Quantized {
  const qmax = Math.min(32767, Math.floor(0x7fffffff / ((stride / 4) * 127)))
  let maxAbs = 0
  for (let j = 0; j < q.length; j++) {
    const a = Math.abs(q[j])
    if (a > maxAbs) maxAbs = a
  }
  dst.fill(0)
  if (maxAbs === 0) return { scale: 0, err: 0, qnorm: 0 }
  const scale = maxAbs / qmax
  const inv = qmax / maxAbs
  let errSq = 0
  let qSq = 0
  for (let j = 0; j < q.length; j++) {
    let qi = Math.round(q[j] * inv)
    if (qi > qmax) qi = qmax
    else if (qi < -qmax) qi = -qmax
    dst[j] = qi
    const back = qi * scale
    const d = q[j] - back
    errSq += d * d
    qSq += back * back
  }
  return { scale, err: Math.sqrt(errSq), qnorm: Math.sqrt(qSq) }
}

// ---- WebAssembly kernel -------------------------------------------------------------------------

/**
 * scan(rows, n, stride, q, out): out[r] = Σ_j rows[r][j]·q[j] as i32, for int8 rows and an int16
 * query (stride % 32 == 0). (Folding the per-person maximum into the kernel measured slower than a
 * JS loop over `out` afterwards, so the kernel does only the dot products.)
 *
 * The query is int16 (quantisation error negligible) and each 8 reference bytes are sign-extended
 * on load (v128.load8x8_s), so the inner loop is load-extend, pmaddwd, add: 3 instructions per 8
 * products. Four accumulators keep the adds independent.
 */
function kernelBytes(): Uint8Array {
  /** The dot product of the row at local `j` with the query, left on the stack as i32; advances j. */
  const rowDot = (L: { J: number; QP: number; Q: number; ROWEND: number; STRIDE: number; ACC: number[] }): number[] => {
    // 4 groups (32 bytes) per iteration; 8 measured no faster on the target machine
    const unroll = 4
    const group = (off: number, acc: number): number[] => [
      ...op.get(acc),
      ...op.get(L.J),
      ...v.load8x8S(off),
      ...op.get(L.QP),
      ...v.load(off * 2), // 8 × i16
      ...v.i32x4DotI16x8S,
      ...v.i32x4add,
      ...op.set(acc)
    ]
    const sumInto = (a: number, b: number): number[] => [...op.get(a), ...op.get(b), ...v.i32x4add, ...op.set(a)]
    const lane = (i: number): number[] => [...op.get(L.ACC[0]!), ...v.i32x4ExtractLane(i)]
    const [A0, A1, A2, A3] = L.ACC as [number, number, number, number]
    return [
      ...L.ACC.flatMap((acc) => [...v.zero, ...op.set(acc)]),
      ...op.get(L.Q),
      ...op.set(L.QP),
      ...op.get(L.J),
      ...op.get(L.STRIDE),
      ...op.i32add,
      ...op.set(L.ROWEND),
      ...op.loop, // $cols
      ...Array.from({ length: unroll }, (_, g) => group(g * 8, L.ACC[g % 4]!)).flat(),
      ...op.get(L.QP),
      ...op.i32const(16 * unroll),
      ...op.i32add,
      ...op.set(L.QP), // 8·unroll × i16
      ...op.get(L.J),
      ...op.i32const(8 * unroll),
      ...op.i32add,
      ...op.tee(L.J),
      ...op.get(L.ROWEND),
      ...op.i32ltU,
      ...op.brIf(0), // $cols while j < row end
      ...op.end,
      ...sumInto(A0, A1),
      ...sumInto(A2, A3),
      ...sumInto(A0, A2),
      ...lane(0),
      ...lane(1),
      ...op.i32add,
      ...lane(2),
      ...op.i32add,
      ...lane(3),
      ...op.i32add
    ]
  }

  // scan: params 0 rows(j), 1 n, 2 stride, 3 q, 4 out | locals 5 end, 6 qp, 7 rowEnd | 8..11 acc
  const [J, N, STRIDE, Q, OUT, END, QP, ROWEND] = [0, 1, 2, 3, 4, 5, 6, 7]
  const L = { J, QP, Q, ROWEND, STRIDE, ACC: [8, 9, 10, 11] }
  const code = [
    ...op.get(N),
    ...op.i32eqz,
    ...op.ifEmpty,
    ...op.ret,
    ...op.end, // if (n == 0) return
    ...op.get(OUT),
    ...op.get(N),
    ...op.i32const(4),
    ...op.i32mul,
    ...op.i32add,
    ...op.set(END),
    ...op.loop, // $rows
    ...op.get(OUT),
    ...rowDot(L),
    ...op.i32store(),
    ...op.get(OUT),
    ...op.i32const(4),
    ...op.i32add,
    ...op.tee(OUT),
    ...op.get(END),
    ...op.i32ltU,
    ...op.brIf(0), // $rows while out < end
    ...op.end
  ]
  return buildModule([
    {
      name: 'scan',
      params: [I32, I32, I32, I32, I32],
      locals: [
        [3, I32],
        [4, V128]
      ],
      code
    }
  ])
}

type KernelFn = (rows: number, n: number, stride: number, q: number, out: number) => void

const wasm = webAssembly()

let cachedModule: WasmModule | null | undefined

function kernelModule(): WasmModule | null {
  if (cachedModule !== undefined) return cachedModule
  try {
    const bytes = kernelBytes()
    cachedModule = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null
  } catch {
    cachedModule = null
  }
  return cachedModule
}

const PAGE = WASM_PAGE
const HEADER = 64

interface Layout {
  rowCap: number
  q: number
  out: number
  scales: number
  persons: number
  rows: number
  total: number
}

/**
 * Int8 copy of the references with their scales and person indices, plus query and output, in one
 * WebAssembly memory:
 *   [header | int16 query | out i32 × rows | scales f32 × rows | persons i32 × rows | rows int8]
 * Views are re-created after every relayout (growing detaches the old ArrayBuffer), so callers must
 * not keep them across reserve().
 */
export class Int8Scan {
  readonly dim: number
  readonly stride: number
  private L: Layout
  private memory: WasmMemory | null
  private kernel: KernelFn | null
  rows: Int8Array = new Int8Array(0)
  /** int16 query, see quantizeQueryInto */
  query: Int16Array = new Int16Array(0)
  out: Int32Array = new Int32Array(0)
  /** value of one int8 step of each row */
  scales: Float32Array = new Float32Array(0)
  /** person slot of each row */
  persons: Int32Array = new Int32Array(0)

  constructor(dim: number, opts: { forceJs?: boolean } = {}) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`bad dimension ${dim}`)
    this.dim = dim
    this.stride = int8Stride(dim)
    const mod = opts.forceJs ? null : kernelModule()
    if (mod && wasm) {
      this.memory = new wasm.Memory({ initial: 1 })
      const inst = new wasm.Instance(mod, { env: { mem: this.memory } })
      this.kernel = inst.exports.scan as KernelFn
    } else {
      this.memory = null
      this.kernel = null
    }
    this.L = this.plan(0)
    this.apply(this.L, new ArrayBuffer(this.L.total))
  }

  /** true when the SIMD kernel is in use (false: plain JS fallback) */
  get simd(): boolean {
    return this.kernel !== null
  }

  get rowCapacity(): number {
    return this.L.rowCap
  }

  /** Makes room for `rows` rows, keeping the first `keep` rows. */
  reserve(rows: number, keep: number): void {
    if (rows <= this.L.rowCap) return
    const k = Math.min(keep, this.L.rowCap)
    const oldRows = this.rows.slice(0, k * this.stride)
    const oldScales = this.scales.slice(0, k)
    const oldPersons = this.persons.slice(0, k)
    const L = this.plan(rows)
    let buf: ArrayBuffer
    if (this.memory) {
      const have = this.memory.buffer.byteLength
      if (L.total > have) this.memory.grow(Math.ceil((L.total - have) / PAGE))
      buf = this.memory.buffer
      new Uint8Array(buf).fill(0)
    } else {
      buf = new ArrayBuffer(L.total)
    }
    this.apply(L, buf)
    this.rows.set(oldRows)
    this.scales.set(oldScales)
    this.persons.set(oldPersons)
  }

  private plan(rowCap: number): Layout {
    const q = HEADER
    const out = align64(q + this.stride * 2)
    const scales = align64(out + rowCap * 4)
    const persons = align64(scales + rowCap * 4)
    const rows = align64(persons + rowCap * 4)
    return { rowCap, q, out, scales, persons, rows, total: rows + rowCap * this.stride }
  }

  private apply(L: Layout, buf: ArrayBuffer): void {
    this.L = L
    this.query = new Int16Array(buf, L.q, this.stride)
    this.out = new Int32Array(buf, L.out, L.rowCap)
    this.scales = new Float32Array(buf, L.scales, L.rowCap)
    this.persons = new Int32Array(buf, L.persons, L.rowCap)
    this.rows = new Int8Array(buf, L.rows, L.rowCap * this.stride)
  }

  /** Copies row `from` (bytes, scale, person) over row `to` (swap-remove). */
  moveRow(from: number, to: number): void {
    const s = this.stride
    this.rows.copyWithin(to * s, from * s, from * s + s)
    this.scales[to] = this.scales[from]
    this.persons[to] = this.persons[from]
  }

  clearRow(i: number): void {
    this.rows.fill(0, i * this.stride, (i + 1) * this.stride)
    this.scales[i] = 0
    this.persons[i] = 0
  }

  /** out[0 .. n) = dot of each int8 row with the int16 `query`. */
  run(n: number): void {
    if (n > this.L.rowCap) throw new Error(`scan of ${n} rows beyond capacity ${this.L.rowCap}`)
    if (this.kernel) {
      this.kernel(this.L.rows, n, this.stride, this.L.q, this.L.out)
      return
    }
    const rows = this.rows
    const q = this.query
    const s = this.stride
    const out = this.out
    for (let i = 0, o = 0; i < n; i++, o += s) {
      let a0 = 0
      let a1 = 0
      for (let j = 0; j < s; j += 2) {
        a0 += rows[o + j] * q[j]
        a1 += rows[o + j + 1] * q[j + 1]
      }
      out[i] = a0 + a1
    }
  }
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64
}
