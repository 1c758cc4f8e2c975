// The detector input (bilinear resize to 320×240 + (v − 127) / 128 into NCHW planes) as a
// WebAssembly SIMD kernel. In plain JS this was the largest piece of pipeline overhead: ~1.1 ms per
// image on the 2-core dev box, about 7 % of the models' own time, because every output sample
// costs three scalar lerps, a rounding and a table lookup (measured: integer, separable and
// tap-reusing JS variants were all within ±15 % of each other). With f32x4 lanes holding one
// pixel's R, G, B the same work is ~4× cheaper.
//
// The module is hand-assembled with src/main/wasm/asm.ts (no toolchain dependency, same approach as the
// matcher's kernel in gallery/scan.ts). Without WebAssembly SIMD the caller uses the JS path.
//
// Numerics: the kernel blends rows first, then columns, in float32; the JS reference blends columns
// first in float64. Both round the same bilinear value to a byte, so they can only disagree where
// that value lies within ~1e-4 of a half, i.e. by one grey level (1/128 after normalisation) on a
// few samples in 10 000 — below anything the detector can notice (test/inference/fast-paths.test.ts).
import type { RgbImage } from '../contracts'
import { buildModule, ensureMemory, F32, I32, instantiate, loadPixel, op, v, V128, type WasmMemory } from '../wasm/asm'
import { serial } from '../util/serial'

/**
 * vblend(p0, p1, n, fy, dst): for n source pixels of two RGB rows, dst[x] = row0[x] + (row1[x] −
 * row0[x])·fy as f32x4 (16 bytes per pixel).
 */
function vblendBody(): number[] {
  const [P0, P1, N, FY, DST, END, FYV, A] = [0, 1, 2, 3, 4, 5, 6, 7]
  return [
    ...op.get(N), ...op.i32eqz, ...op.ifEmpty, ...op.ret, ...op.end,
    ...op.get(P0), ...op.get(N), ...op.i32const(3), ...op.i32mul, ...op.i32add, ...op.set(END),
    ...op.get(FY), ...v.f32x4splat, ...op.set(FYV),
    ...op.loop,
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
    ...op.get(P0), ...op.get(END), ...op.i32ltU, ...op.brIf(0),
    ...op.end
  ] // prettier-ignore
}

/**
 * hpass(row, xtab, n, outR, outG, outB): for n output pixels with taps xtab[u] = {a, b: byte
 * offsets into the blended row, fx: f32}, v = row[a] + (row[b] − row[a])·fx, rounded half up to a
 * byte and normalised to (v − 127)/128, written to the three float planes.
 */
function hpassBody(): number[] {
  const [ROW, XT, N, OR, OG, OB, END, A, HALF, C127, INV128] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  return [
    ...op.get(N), ...op.i32eqz, ...op.ifEmpty, ...op.ret, ...op.end,
    ...op.get(XT), ...op.get(N), ...op.i32const(12), ...op.i32mul, ...op.i32add, ...op.set(END),
    ...op.f32const(0.5), ...v.f32x4splat, ...op.set(HALF),
    ...op.f32const(127), ...v.f32x4splat, ...op.set(C127),
    ...op.f32const(1 / 128), ...v.f32x4splat, ...op.set(INV128),
    ...op.loop,
    ...op.get(ROW), ...op.get(XT), ...op.i32load(0), ...op.i32add, ...v.load(), ...op.tee(A),
    ...op.get(ROW), ...op.get(XT), ...op.i32load(4), ...op.i32add, ...v.load(),
    ...op.get(A), ...v.f32x4sub,
    ...op.get(XT), ...op.f32load(8), ...v.f32x4splat, ...v.f32x4mul,
    ...v.f32x4add,
    ...op.get(HALF), ...v.f32x4add,
    ...v.i32x4TruncSatF32S, ...v.f32x4ConvertI32S, // the byte value, as a float
    ...op.get(C127), ...v.f32x4sub,
    ...op.get(INV128), ...v.f32x4mul,
    ...op.set(A),
    ...op.get(OR), ...op.get(A), ...v.store32lane(0),
    ...op.get(OG), ...op.get(A), ...v.store32lane(1),
    ...op.get(OB), ...op.get(A), ...v.store32lane(2),
    ...op.get(OR), ...op.i32const(4), ...op.i32add, ...op.set(OR),
    ...op.get(OG), ...op.i32const(4), ...op.i32add, ...op.set(OG),
    ...op.get(OB), ...op.i32const(4), ...op.i32add, ...op.set(OB),
    ...op.get(XT), ...op.i32const(12), ...op.i32add, ...op.tee(XT),
    ...op.get(END), ...op.i32ltU, ...op.brIf(0),
    ...op.end
  ] // prettier-ignore
}

export function resizeModuleBytes(): Uint8Array {
  return buildModule([
    {
      name: 'vblend',
      params: [I32, I32, I32, F32, I32],
      locals: [
        [1, I32],
        [2, V128]
      ],
      code: vblendBody()
    },
    {
      name: 'hpass',
      params: [I32, I32, I32, I32, I32, I32],
      locals: [
        [1, I32],
        [4, V128]
      ],
      code: hpassBody()
    }
  ])
}

// ---- runtime ------------------------------------------------------------------------------------

type VBlend = (p0: number, p1: number, n: number, fy: number, dst: number) => void
type HPass = (row: number, xtab: number, n: number, outR: number, outG: number, outB: number) => void

/**
 * Sources above this go to the JS path: WebAssembly memory never shrinks, and the bilinear path
 * only sees small inputs anyway ('auto' area-averages anything twice the detector size).
 */
export const SIMD_MAX_SOURCE_BYTES = 16 * 1024 * 1024

const align16 = (n: number): number => (n + 15) & ~15

class Kernel {
  /** set while withResizedChw lends the output: nothing may overwrite or detach it */
  lent = false
  /** serialises withResizedChw callers */
  readonly turns = serial()

  constructor(
    private readonly memory: WasmMemory,
    private readonly vblend: VBlend,
    private readonly hpass: HPass
  ) {}

  /** Resizes into this kernel's memory; the view is valid until the next call. */
  run(img: RgbImage, width: number, height: number, order: 'rgb' | 'bgr'): Float32Array {
    const { data, width: W, height: H } = img
    const n = width * height
    // layout: [output planes | source RGB + 16 spare bytes (loads read 4) | blended row, 16 B per
    // pixel | taps, 12 B per output column]; the output first so its offset never moves
    const outPtr = 0
    const srcPtr = align16(outPtr + 12 * n)
    const rowPtr = align16(srcPtr + data.length + 16)
    const tapPtr = align16(rowPtr + 16 * W)
    const buf = ensureMemory(this.memory, tapPtr + 12 * width)
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
    return new Float32Array(buf, outPtr, 3 * n)
  }
}

let kernel: Kernel | null | undefined

function getKernel(): Kernel | null {
  if (kernel === undefined) {
    const inst = instantiate(resizeModuleBytes())
    kernel = inst ? new Kernel(inst.memory, inst.exports.vblend as VBlend, inst.exports.hpass as HPass) : null
  }
  return kernel
}

/** True when the WebAssembly SIMD kernel is available in this runtime. */
export function simdResizeAvailable(): boolean {
  return getKernel() !== null
}

/**
 * Bilinear resize to width×height and (v − 127)/128 into NCHW float planes (`out` holds 3·w·h);
 * returns false, leaving `out` untouched, when the kernel is unavailable, busy (lent to
 * withResizedChw) or the source too big.
 */
export function resizeBilinearToChwSimd(
  img: RgbImage,
  width: number,
  height: number,
  order: 'rgb' | 'bgr',
  out: Float32Array
): boolean {
  if (img.data.length > SIMD_MAX_SOURCE_BYTES) return false
  const k = getKernel()
  if (!k || k.lent) return false
  out.set(k.run(img, width, height, order))
  return true
}

/**
 * The same resize, without copying the 0.9 MB result out of the kernel's memory: `use` gets the
 * planes in place (e.g. to wrap in a tensor for session.run) and must be done with them when its
 * promise settles. Callers are served one at a time, so a pending run never sees its input
 * overwritten, and the memory cannot grow (which would detach the view) while it is lent (so
 * `use` must not itself call withResizedChw: it would wait for itself). Resolves to null when the
 * kernel is unavailable or the source too big: use the JS path then.
 */
export async function withResizedChw<T>(
  img: RgbImage,
  width: number,
  height: number,
  order: 'rgb' | 'bgr',
  use: (chw: Float32Array) => Promise<T>
): Promise<{ value: T } | null> {
  const k = img.data.length > SIMD_MAX_SOURCE_BYTES ? null : getKernel()
  if (!k) return null
  return k.turns.run(async () => {
    k.lent = true
    try {
      return { value: await use(k.run(img, width, height, order)) }
    } finally {
      k.lent = false
    }
  })
}
