// The detector input (bilinear resize to 320×240 + (v − 127) / 128 into NCHW planes) as a
// WebAssembly SIMD kernel. In plain JS this was the largest piece of pipeline overhead: ~1.1 ms per
// image on the 2-core dev box, about 7 % of the models' own time, because every output sample
// costs three scalar lerps, a rounding and a table lookup (measured: integer, separable and
// tap-reusing JS variants were all within ±15 % of each other). With f32x4 lanes holding one
// pixel's R, G, B the same work is ~4× cheaper.
//
// The module is hand-assembled below (no toolchain dependency, same approach as the matcher's
// kernel in gallery/scan.ts). When the runtime has no WebAssembly SIMD the caller uses the JS path.
//
// Numerics: the kernel blends rows first, then columns, in float32; the JS reference blends columns
// first in float64. Both round the same bilinear value to a byte, so they can only disagree where
// that value lies within ~1e-4 of a half, i.e. by one grey level (1/128 after normalisation) on a
// few samples in 10 000 — below anything the detector can notice (test/inference/simd-resize.test.ts).
import type { RgbImage } from '../contracts'

// ---- a minimal assembler ------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const f32bytes = (v: number): number[] => Array.from(new Uint8Array(new Float32Array([v]).buffer))

const I32 = 0x7f
const F32 = 0x7d
const V128 = 0x7b

const op = {
  get: (i: number): number[] => [0x20, ...uleb(i)],
  set: (i: number): number[] => [0x21, ...uleb(i)],
  tee: (i: number): number[] => [0x22, ...uleb(i)],
  i32const: (v: number): number[] => [0x41, ...sleb(v)],
  f32const: (v: number): number[] => [0x43, ...f32bytes(v)],
  /** memory immediates: alignment as log2, then offset */
  i32load: (offset = 0): number[] => [0x28, 2, ...uleb(offset)],
  f32load: (offset = 0): number[] => [0x2a, 2, ...uleb(offset)],
  i32add: [0x6a],
  i32mul: [0x6c],
  i32ltu: [0x49],
  i32eqz: [0x45],
  ifEmpty: [0x04, 0x40],
  loopEmpty: [0x03, 0x40],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  ret: [0x0f],
  end: [0x0b],
  simd: (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm]
}

const v = {
  load: (offset = 0): number[] => op.simd(0x00, 0, ...uleb(offset)),
  store: (offset = 0): number[] => op.simd(0x0b, 0, ...uleb(offset)),
  load32zero: (offset = 0): number[] => op.simd(0x5c, 0, ...uleb(offset)),
  store32lane: (lane: number, offset = 0): number[] => op.simd(0x5a, 0, ...uleb(offset), lane),
  f32x4splat: op.simd(0x13),
  i16x8ExtendLowU8: op.simd(0x89),
  i32x4ExtendLowU16: op.simd(0xa9),
  f32x4ConvertI32U: op.simd(0xfb),
  f32x4ConvertI32S: op.simd(0xfa),
  i32x4TruncSatF32S: op.simd(0xf8),
  f32x4add: op.simd(0xe4),
  f32x4sub: op.simd(0xe5),
  f32x4mul: op.simd(0xe6)
}

/** 4 bytes at the address on the stack → f32x4 (only lanes 0..2, one pixel's R, G, B, are used). */
const loadPixel = [...v.load32zero(), ...v.i16x8ExtendLowU8, ...v.i32x4ExtendLowU16, ...v.f32x4ConvertI32U]

/**
 * vblend(p0, p1, n, fy, dst): for n source pixels of two RGB rows, dst[x] = row0[x] + (row1[x] −
 * row0[x])·fy as f32x4 (16 bytes per pixel).
 */
function vblendBody(): number[] {
  const [P0, P1, N, FY, DST, END, FYV, A] = [0, 1, 2, 3, 4, 5, 6, 7]
  return [
    2, 1, I32, 2, V128, // locals: end; fyv, a
    ...op.get(N), ...op.i32eqz, ...op.ifEmpty, ...op.ret, ...op.end,
    ...op.get(P0), ...op.get(N), ...op.i32const(3), ...op.i32mul, ...op.i32add, ...op.set(END),
    ...op.get(FY), ...v.f32x4splat, ...op.set(FYV),
    ...op.loopEmpty,
    ...op.get(DST),
    ...op.get(P0), ...loadPixel, ...op.tee(A),
    ...op.get(P1), ...loadPixel,
    ...op.get(A), ...v.f32x4sub, // row1 − row0
    ...op.get(FYV), ...v.f32x4mul,
    ...v.f32x4add, // row0 + (row1 − row0)·fy
    ...v.store(),
    ...op.get(P0), ...op.i32const(3), ...op.i32add, ...op.set(P0),
    ...op.get(P1), ...op.i32const(3), ...op.i32add, ...op.set(P1),
    ...op.get(DST), ...op.i32const(16), ...op.i32add, ...op.set(DST),
    ...op.get(P0), ...op.get(END), ...op.i32ltu, ...op.brIf(0),
    ...op.end,
    ...op.end
  ] // prettier-ignore
}

/**
 * hpass(row, xtab, n, outR, outG, outB): for n output pixels with taps xtab[u] = {a, b: byte
 * offsets into the blended row, fx: f32}, v = row[a] + (row[b] − row[a])·fx, rounded half up to a
 * byte and normalised to (v − 127)/128, written to the three float planes.
 */
function hpassBody(): number[] {
  const [ROW, XT, N, OR, OG, OB, END, A] = [0, 1, 2, 3, 4, 5, 6, 7]
  return [
    2, 1, I32, 1, V128, // locals: end; a
    ...op.get(N), ...op.i32eqz, ...op.ifEmpty, ...op.ret, ...op.end,
    ...op.get(XT), ...op.get(N), ...op.i32const(12), ...op.i32mul, ...op.i32add, ...op.set(END),
    ...op.loopEmpty,
    ...op.get(ROW), ...op.get(XT), ...op.i32load(0), ...op.i32add, ...v.load(), ...op.tee(A),
    ...op.get(ROW), ...op.get(XT), ...op.i32load(4), ...op.i32add, ...v.load(),
    ...op.get(A), ...v.f32x4sub,
    ...op.get(XT), ...op.f32load(8), ...v.f32x4splat, ...v.f32x4mul,
    ...v.f32x4add,
    ...op.f32const(0.5), ...v.f32x4splat, ...v.f32x4add,
    ...v.i32x4TruncSatF32S, ...v.f32x4ConvertI32S, // the byte value, as a float
    ...op.f32const(127), ...v.f32x4splat, ...v.f32x4sub,
    ...op.f32const(1 / 128), ...v.f32x4splat, ...v.f32x4mul,
    ...op.set(A),
    ...op.get(OR), ...op.get(A), ...v.store32lane(0),
    ...op.get(OG), ...op.get(A), ...v.store32lane(1),
    ...op.get(OB), ...op.get(A), ...v.store32lane(2),
    ...op.get(OR), ...op.i32const(4), ...op.i32add, ...op.set(OR),
    ...op.get(OG), ...op.i32const(4), ...op.i32add, ...op.set(OG),
    ...op.get(OB), ...op.i32const(4), ...op.i32add, ...op.set(OB),
    ...op.get(XT), ...op.i32const(12), ...op.i32add, ...op.tee(XT),
    ...op.get(END), ...op.i32ltu, ...op.brIf(0),
    ...op.end,
    ...op.end
  ] // prettier-ignore
}

export function resizeModuleBytes(): Uint8Array {
  const vblend = vblendBody()
  const hpass = hpassBody()
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 = vblend (i32 i32 i32 f32 i32), 1 = hpass (i32 × 6)
    ...section(1, [2, 0x60, 5, I32, I32, I32, F32, I32, 0, 0x60, 6, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [2, 0, 1]),
    ...section(7, [2, ...name('vblend'), 0x00, 0, ...name('hpass'), 0x00, 1]),
    ...section(10, [2, ...uleb(vblend.length), ...vblend, ...uleb(hpass.length), ...hpass])
  ]) // prettier-ignore
}

// ---- runtime ------------------------------------------------------------------------------------

// The node-only tsconfig has no WebAssembly typings (they live in lib.dom); declare what is used.
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface WasmModule {
  readonly __wasmModule?: never
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (mod: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> }
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory
}

type VBlend = (p0: number, p1: number, n: number, fy: number, dst: number) => void
type HPass = (row: number, xtab: number, n: number, outR: number, outG: number, outB: number) => void

const PAGE = 65536
/**
 * Sources above this go to the JS path: WebAssembly memory never shrinks, and the bilinear path
 * only sees small inputs anyway ('auto' area-averages anything twice the detector size).
 */
export const SIMD_MAX_SOURCE_BYTES = 16 * 1024 * 1024

const align16 = (n: number): number => (n + 15) & ~15

class Kernel {
  private readonly memory: WasmMemory
  private readonly vblend: VBlend
  private readonly hpass: HPass

  constructor(wasm: WasmApi, mod: WasmModule) {
    this.memory = new wasm.Memory({ initial: 1 })
    const inst = new wasm.Instance(mod, { env: { mem: this.memory } })
    this.vblend = inst.exports.vblend as VBlend
    this.hpass = inst.exports.hpass as HPass
  }

  run(img: RgbImage, width: number, height: number, order: 'rgb' | 'bgr', out: Float32Array): void {
    const { data, width: W, height: H } = img
    const n = width * height
    // layout: [source RGB + 16 spare bytes (loads read 4) | blended row, 16 B per pixel | taps, 12 B
    // per output column | output planes]
    const srcPtr = 0
    const rowPtr = align16(srcPtr + data.length + 16)
    const tapPtr = align16(rowPtr + 16 * W)
    const outPtr = align16(tapPtr + 12 * width)
    const need = outPtr + 12 * n
    if (need > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE))
    const buf = this.memory.buffer
    new Uint8Array(buf, srcPtr, data.length).set(data)
    // Same tap positions as resizeBilinear (half-pixel centres, clamped at the edges).
    const taps = new DataView(buf, tapPtr, 12 * width)
    const sx = W / width
    for (let u = 0; u < width; u++) {
      const x = Math.min(Math.max((u + 0.5) * sx - 0.5, 0), W - 1)
      const x0 = Math.floor(x)
      taps.setInt32(12 * u, x0 * 16, true)
      taps.setInt32(12 * u + 4, Math.min(x0 + 1, W - 1) * 16, true)
      taps.setFloat32(12 * u + 8, x - x0, true)
    }
    const [pR, pB] = order === 'rgb' ? [outPtr, outPtr + 8 * n] : [outPtr + 8 * n, outPtr]
    const pG = outPtr + 4 * n
    const sy = H / height
    for (let v = 0; v < height; v++) {
      const y = Math.min(Math.max((v + 0.5) * sy - 0.5, 0), H - 1)
      const y0 = Math.floor(y)
      const y1 = Math.min(y0 + 1, H - 1)
      this.vblend(srcPtr + y0 * W * 3, srcPtr + y1 * W * 3, W, y - y0, rowPtr)
      this.hpass(rowPtr, tapPtr, width, pR + 4 * v * width, pG + 4 * v * width, pB + 4 * v * width)
    }
    out.set(new Float32Array(buf, outPtr, 3 * n))
  }
}

let kernel: Kernel | null | undefined

function getKernel(): Kernel | null {
  if (kernel !== undefined) return kernel
  kernel = null
  const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly
  if (process.env.VIGIL_NO_SIMD === '1' || !wasm) return kernel
  try {
    const bytes = resizeModuleBytes()
    if (wasm.validate(bytes)) kernel = new Kernel(wasm, new wasm.Module(bytes))
  } catch {
    kernel = null
  }
  return kernel
}

/** True when the WebAssembly SIMD kernel is available in this runtime. */
export function simdResizeAvailable(): boolean {
  return getKernel() !== null
}

/**
 * Bilinear resize to width×height and (v − 127)/128 into NCHW float planes (`out` holds 3·w·h);
 * returns false, leaving `out` untouched, when the kernel is unavailable or the source too big.
 */
export function resizeBilinearToChwSimd(img: RgbImage, width: number, height: number, order: 'rgb' | 'bgr', out: Float32Array): boolean {
  if (img.data.length > SIMD_MAX_SOURCE_BYTES) return false
  const k = getKernel()
  if (!k) return false
  k.run(img, width, height, order, out)
  return true
}
