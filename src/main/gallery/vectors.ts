// Embeddings are stored in db.json as base64 of little-endian float32 bytes (see store/schema.ts).
// Explicit little-endian so a db.json written on one machine reads the same on any other.
import { endianness } from 'node:os'

export const EMBEDDING_DIM = 512

const nativeLittleEndian = endianness() === 'LE'

export function encodeVector(v: Float32Array): string {
  if (nativeLittleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
  const buf = Buffer.allocUnsafe(v.length * 4)
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i], i * 4)
  return buf.toString('base64')
}

/**
 * Decodes what encodeVector wrote. `dim` (default 512) is checked so a truncated or foreign string is
 * refused here instead of corrupting the matcher; pass null to accept any length.
 */
export function decodeVector(b64: string, dim: number | null = EMBEDDING_DIM): Float32Array {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new Error('embedding is not a base64 string')
  }
  const bytes = Buffer.from(b64, 'base64')
  if (bytes.length % 4 !== 0)
    throw new Error(`embedding has ${bytes.length} bytes, not a whole number of float32 values`)
  const n = bytes.length / 4
  if (dim !== null && n !== dim) throw new Error(`embedding has ${n} values, expected ${dim}`)
  // Copy: the Buffer may sit at an offset of a shared pool that is not 4-byte aligned.
  const out = new Float32Array(n)
  if (nativeLittleEndian) new Uint8Array(out.buffer).set(bytes)
  else for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4)
  return out
}

/** Throws unless v is a usable embedding: right length, finite, non-zero. */
export function assertEmbedding(v: Float32Array, dim: number = EMBEDDING_DIM): void {
  if (!(v instanceof Float32Array)) throw new Error('embedding must be a Float32Array')
  if (v.length !== dim) throw new Error(`embedding has ${v.length} values, expected ${dim}`)
  let ss = 0
  for (let i = 0; i < v.length; i++) {
    const x = v[i]
    if (!Number.isFinite(x)) throw new Error(`embedding value ${i} is not finite`)
    ss += x * x
  }
  if (ss === 0) throw new Error('embedding is all zeros')
}
