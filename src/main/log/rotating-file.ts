// A size-capped log file: when the next line would pass maxBytes the file becomes <file>.1 (older
// copies shift to .2 … .keep, the oldest is dropped) and a new file starts. Writes are synchronous:
// log lines are few, and a line written before a crash is the one a bug report needs.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

export interface RotatingFileOptions {
  /** default 5 MiB */
  maxBytes?: number
  /** rotated copies kept besides the live file (default 3) */
  keep?: number
}

/** The renames that rotate `file`, oldest first: [from, to] pairs; the oldest copy is deleted first. */
export function rotationSteps(file: string, keep: number): { drop: string; moves: [string, string][] } {
  const moves: [string, string][] = []
  for (let i = keep - 1; i >= 1; i--) moves.push([`${file}.${i}`, `${file}.${i + 1}`])
  if (keep >= 1) moves.push([file, `${file}.1`])
  return { drop: keep >= 1 ? `${file}.${keep}` : file, moves }
}

export class RotatingFile {
  readonly file: string
  private fd: number
  private size: number
  private readonly maxBytes: number
  private readonly keep: number

  constructor(file: string, opts: RotatingFileOptions = {}) {
    this.file = file
    this.maxBytes = opts.maxBytes ?? 5 * 1024 * 1024
    this.keep = opts.keep ?? 3
    mkdirSync(dirname(file), { recursive: true })
    this.fd = openSync(file, 'a')
    this.size = fstatSync(this.fd).size
  }

  write(line: string): void {
    const bytes = Buffer.byteLength(line)
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate()
    writeSync(this.fd, line)
    this.size += bytes
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
  }

  private rotate(): void {
    closeSync(this.fd)
    const { drop, moves } = rotationSteps(this.file, this.keep)
    rmSync(drop, { force: true })
    for (const [from, to] of moves) {
      try {
        renameSync(from, to)
      } catch (e) {
        // a copy that does not exist yet (young log) is fine; anything else would lose lines
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
    }
    this.fd = openSync(this.file, 'a')
    this.size = 0
  }
}
