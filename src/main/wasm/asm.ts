// A minimal WebAssembly assembler for the hand-written kernels (the detector-input resize in
// inference/simd-resize.ts, the matcher's int8 scan in gallery/scan.ts): opcodes by name, so a kernel reads as its instruction list without a toolchain dependency.
// Only what the kernels use is here; opcode numbers are from the WebAssembly 2.0 spec (SIMD
// instructions are prefixed 0xfd, saturating truncation 0xfc).

export function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

export function sleb(n: number): number[] {
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

export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
export const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const bytesOf = (a: Float32Array | Float64Array): number[] => Array.from(new Uint8Array(a.buffer))

export const I32 = 0x7f
export const F32 = 0x7d
export const F64 = 0x7c
export const V128 = 0x7b

/** Scalar and control instructions. Memory immediates: alignment as log2, then offset. */
export const op = {
  get: (i: number): number[] => [0x20, ...uleb(i)],
  set: (i: number): number[] => [0x21, ...uleb(i)],
  tee: (i: number): number[] => [0x22, ...uleb(i)],
  i32const: (v: number): number[] => [0x41, ...sleb(v)],
  f32const: (v: number): number[] => [0x43, ...bytesOf(new Float32Array([v]))],
  f64const: (v: number): number[] => [0x44, ...bytesOf(new Float64Array([v]))],
  i32load: (offset = 0): number[] => [0x28, 2, ...uleb(offset)],
  f32load: (offset = 0): number[] => [0x2a, 2, ...uleb(offset)],
  i32store: (offset = 0): number[] => [0x36, 0, ...uleb(offset)],
  i32add: [0x6a],
  i32sub: [0x6b],
  i32mul: [0x6c],
  i32and: [0x71],
  i32or: [0x72],
  i32eqz: [0x45],
  i32ltS: [0x48],
  i32ltU: [0x49],
  i32geS: [0x4e],
  f64add: [0xa0],
  f64sub: [0xa1],
  f64mul: [0xa2],
  f64floor: [0x9c],
  f64convertI32S: [0xb7],
  f32demoteF64: [0xb6],
  i32truncSatF64S: [0xfc, 0x02],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  ifEmpty: [0x04, 0x40],
  ifV128: [0x04, V128],
  else: [0x05],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
  ret: [0x0f],
  end: [0x0b]
}

const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm]

/** SIMD instructions. */
export const v = {
  load: (offset = 0): number[] => simd(0x00, 0, ...uleb(offset)),
  store: (offset = 0): number[] => simd(0x0b, 0, ...uleb(offset)),
  zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  load32zero: (offset = 0): number[] => simd(0x5c, 0, ...uleb(offset)),
  store32lane: (lane: number, offset = 0): number[] => simd(0x5a, 0, ...uleb(offset), lane),
  f32x4splat: simd(0x13),
  i16x8ExtendLowU8: simd(0x89),
  i32x4ExtendLowU16: simd(0xa9),
  i16x8NarrowI32x4U: simd(0x86),
  i8x16NarrowI16x8U: simd(0x66),
  f32x4ConvertI32U: simd(0xfb),
  f32x4ConvertI32S: simd(0xfa),
  i32x4TruncSatF32S: simd(0xf8),
  i32x4TruncSatF32U: simd(0xf9),
  f32x4add: simd(0xe4),
  f32x4sub: simd(0xe5),
  f32x4mul: simd(0xe6),
  /** 8 × i8 sign-extended to 8 × i16 */
  load8x8S: (offset = 0): number[] => simd(0x01, 3, ...uleb(offset)),
  i32x4add: simd(0xae),
  i32x4DotI16x8S: simd(0xba),
  i32x4ExtractLane: (lane: number): number[] => simd(0x1b, lane)
}

/** 4 bytes at the address on the stack → f32x4 (only lanes 0..2, one pixel's R, G, B, are used). */
export const loadPixel = [...v.load32zero(), ...v.i16x8ExtendLowU8, ...v.i32x4ExtendLowU16, ...v.f32x4ConvertI32U]

export interface FuncDef {
  name: string
  params: number[]
  /** locals after the params, as [count, type] runs */
  locals: [number, number][]
  code: number[]
}

/** A module importing one memory as env.mem and exporting the given functions. */
export function buildModule(funcs: FuncDef[]): Uint8Array {
  const types = funcs.flatMap((f) => [0x60, ...uleb(f.params.length), ...f.params, 0])
  const bodies = funcs.map((f) => {
    const body = [...uleb(f.locals.length), ...f.locals.flatMap(([n, t]) => [...uleb(n), t]), ...f.code, ...op.end]
    return [...uleb(body.length), ...body]
  })
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(funcs.length), ...types]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [...uleb(funcs.length), ...funcs.map((_, i) => i)]),
    ...section(7, [...uleb(funcs.length), ...funcs.flatMap((f, i) => [...name(f.name), 0x00, i])]),
    ...section(10, [...uleb(funcs.length), ...bodies.flat()])
  ]) // prettier-ignore
}

// The node-only tsconfig has no WebAssembly typings (they live in lib.dom); declare what is used.
export interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
export interface WasmModule {
  readonly __wasmModule?: never
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (
    mod: WasmModule,
    imports: Record<string, Record<string, unknown>>
  ) => { exports: Record<string, unknown> }
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory
}

export const WASM_PAGE = 65536

/** The runtime's WebAssembly, or undefined where there is none. */
export const webAssembly = (): WasmApi | undefined => (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly

/**
 * Instantiates a kernel module with a fresh memory; null when the runtime has no WebAssembly (SIMD)
 * or VIGIL_NO_SIMD=1 asks for the JS paths (to compare them).
 */
export function instantiate(bytes: Uint8Array): { memory: WasmMemory; exports: Record<string, unknown> } | null {
  const wasm = webAssembly()
  if (process.env.VIGIL_NO_SIMD === '1' || !wasm) return null
  try {
    if (!wasm.validate(bytes)) return null
    const memory = new wasm.Memory({ initial: 1 })
    const inst = new wasm.Instance(new wasm.Module(bytes), { env: { mem: memory } })
    return { memory, exports: inst.exports }
  } catch {
    return null
  }
}

/** Grows the memory to at least `bytes`. */
export function ensureMemory(memory: WasmMemory, bytes: number): ArrayBuffer {
  const have = memory.buffer.byteLength
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / WASM_PAGE))
  return memory.buffer
}
