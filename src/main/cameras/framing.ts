// Byte-stream framing for ffmpeg's two outputs, a frame-rate meter and the restart backoff.
// All pure (no I/O) so the ingest logic is testable without ffmpeg.

/**
 * Splits ffmpeg's `-f mjpeg` output (JPEGs back to back) into single images.
 * ffmpeg's encoder writes no EXIF thumbnails, so the first EOI after an SOI ends the image
 * (0xFF in entropy-coded data is always stuffed as FF 00, so FF D9 cannot occur inside it).
 * Garbage before an SOI is skipped; a buffer that grows past maxBytes without an EOI is dropped
 * so a corrupt stream cannot eat memory.
 */
export class JpegSplitter {
  private buf: Buffer = Buffer.alloc(0)
  discardedBytes = 0

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const out: Buffer[] = []
    for (;;) {
      const soi = findMarker(this.buf, 0xd8, 0)
      if (soi < 0) {
        // keep a trailing 0xFF: it may be the first half of an SOI split across chunks
        const keep = this.buf.length && this.buf[this.buf.length - 1] === 0xff ? 1 : 0
        this.discardedBytes += this.buf.length - keep
        this.buf = this.buf.subarray(this.buf.length - keep)
        break
      }
      if (soi > 0) {
        this.discardedBytes += soi
        this.buf = this.buf.subarray(soi)
      }
      const eoi = findMarker(this.buf, 0xd9, 2)
      if (eoi < 0) {
        if (this.buf.length > this.maxBytes) {
          this.discardedBytes += this.buf.length
          this.buf = Buffer.alloc(0)
        }
        break
      }
      // copy: the consumer may keep the image while this buffer's memory is reused
      out.push(Buffer.from(this.buf.subarray(0, eoi + 2)))
      this.buf = this.buf.subarray(eoi + 2)
    }
    // detach from the big concatenated chunk so retained tails do not pin it
    if (this.buf.length && this.buf.byteOffset > 0) this.buf = Buffer.from(this.buf)
    return out
  }
}

function findMarker(buf: Buffer, code: number, from: number): number {
  let i = buf.indexOf(0xff, from)
  while (i >= 0 && i + 1 < buf.length) {
    if (buf[i + 1] === code) return i
    i = buf.indexOf(0xff, i + 1)
  }
  return -1
}

/**
 * Cuts ffmpeg's rawvideo output into frames of a fixed byte size. The size is only known once
 * ffmpeg has printed its output stream line, so bytes arriving earlier wait in `pending`
 * (bounded by maxPendingBytes: more than that means the size line never came).
 */
export class RawFrameAssembler {
  private frameBytes = 0
  private current: Uint8Array | null = null
  private offset = 0
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor(private readonly maxPendingBytes = 64 * 1024 * 1024) {}

  get ready(): boolean {
    return this.frameBytes > 0
  }

  /** Sets the frame size; returns the frames completed by bytes that arrived before it. */
  setFrameBytes(n: number): Uint8Array[] {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`invalid frame size ${n}`)
    this.frameBytes = n
    const pending = this.pending
    this.pending = []
    this.pendingBytes = 0
    return pending.flatMap((c) => this.push(c))
  }

  /** Returns complete frames; throws when too many bytes arrive before the frame size is known. */
  push(chunk: Buffer): Uint8Array[] {
    if (!this.frameBytes) {
      this.pending.push(chunk)
      this.pendingBytes += chunk.length
      if (this.pendingBytes > this.maxPendingBytes)
        throw new Error('frame size unknown after ' + this.pendingBytes + ' bytes')
      return []
    }
    const out: Uint8Array[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (!this.current) {
        this.current = new Uint8Array(this.frameBytes)
        this.offset = 0
      }
      const n = Math.min(this.frameBytes - this.offset, chunk.length - pos)
      this.current.set(chunk.subarray(pos, pos + n), this.offset)
      this.offset += n
      pos += n
      if (this.offset === this.frameBytes) {
        out.push(this.current)
        this.current = null
      }
    }
    return out
  }
}

/**
 * Events per second over a sliding window. Before a full window has elapsed the rate is taken
 * over the time since the first event, so a fresh stream does not read low for windowMs; after a
 * stall the old events age out and the rate falls to 0.
 */
export class RateMeter {
  private times: number[] = []
  private since: number | null = null

  constructor(private readonly windowMs = 5000) {}

  add(at: number): void {
    if (this.since === null) this.since = at
    this.times.push(at)
    this.prune(at)
  }

  reset(): void {
    this.times = []
    this.since = null
  }

  rate(now: number): number {
    this.prune(now)
    const n = this.times.length
    if (n === 0 || this.since === null) return 0
    const elapsed = now - this.since
    // young window: n events span n-1 intervals since the first one
    if (elapsed < this.windowMs) return n >= 2 && elapsed > 0 ? ((n - 1) * 1000) / elapsed : 0
    return (n * 1000) / this.windowMs
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs
    let i = 0
    while (i < this.times.length && (this.times[i] ?? 0) <= cutoff) i++
    if (i) this.times.splice(0, i)
  }
}

export interface BackoffOptions {
  /** first delay, ms (default 1000) */
  initialMs?: number
  /** cap, ms (default 30 000) */
  maxMs?: number
  /** growth per failure (default 2) */
  factor?: number
}

/** Delay before restart attempt `attempt` (1-based): 1 s, 2 s, 4 s … capped. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const initial = o.initialMs ?? 1000
  const max = o.maxMs ?? 30_000
  const factor = o.factor ?? 2
  const n = Math.max(1, Math.floor(attempt))
  return Math.min(max, initial * factor ** (n - 1))
}
