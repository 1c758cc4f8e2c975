// 1080p crowd material for bench:live, made from any clip with ffmpeg: an n×n mosaic of time-shifted
// copies, so each frame carries n² times the faces of the clip at the clip's own size per face. The
// file is generated once into a cache directory keyed by the source file; it is never committed.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface MosaicSpec {
  /** cells per side (3 → 3×3) */
  n: number
  width: number
  height: number
  fps: number
  /** GOP length, s: real cameras send a keyframe every 1–4 s */
  gopSeconds: number
  /** length of the output, s */
  seconds: number
}

export const DEFAULT_MOSAIC: Omit<MosaicSpec, 'n' | 'seconds'> = { width: 1920, height: 1080, fps: 25, gopSeconds: 2 }

/** xstack layout for an n×n grid of equal cells: "0_0|w0_0|0_h0|w0_h0" for n=2. */
export function xstackLayout(n: number): string {
  const cells: string[] = []
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++) {
      const x = c === 0 ? '0' : Array.from({ length: c }, () => 'w0').join('+')
      const y = r === 0 ? '0' : Array.from({ length: r }, () => 'h0').join('+')
      cells.push(`${x}_${y}`)
    }
  return cells.join('|')
}

/** ffmpeg arguments that write the mosaic of `clip` (duration `clipSeconds`) to `out`. */
export function mosaicArgs(clip: string, clipSeconds: number, spec: MosaicSpec, out: string): string[] {
  const { n, width, height, fps, gopSeconds, seconds } = spec
  if (!Number.isInteger(n) || n < 1 || n > 6) throw new Error('mosaic size must be a whole number 1..6')
  const cw = Math.floor(width / n / 2) * 2
  const ch = Math.floor(height / n / 2) * 2
  const inputs: string[] = []
  const chains: string[] = []
  for (let i = 0; i < n * n; i++) {
    // spread the copies over the clip so the cells never show the same moment
    const offset = ((clipSeconds * i) / (n * n)).toFixed(3)
    inputs.push('-stream_loop', '-1', '-ss', offset, '-i', clip)
    chains.push(`[${i}:v:0]fps=${fps},scale=${cw}:${ch},setsar=1,setpts=PTS-STARTPTS[c${i}]`)
  }
  const stack =
    n === 1
      ? `[c0]scale=${width}:${height}[out]`
      : `${Array.from({ length: n * n }, (_, i) => `[c${i}]`).join('')}xstack=inputs=${n * n}:layout=${xstackLayout(n)},scale=${width}:${height},setsar=1[out]`
  const gop = String(Math.round(fps * gopSeconds))
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...inputs,
    '-filter_complex',
    [...chains, stack].join(';'),
    '-map',
    '[out]',
    '-an',
    '-t',
    String(seconds),
    '-r',
    String(fps),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-g',
    gop,
    '-keyint_min',
    gop,
    '-sc_threshold',
    '0',
    '-movflags',
    '+faststart',
    '-y',
    out
  ]
}

/** Duration of a media file, s (ffprobe). */
export async function probeSeconds(file: string): Promise<number> {
  const out = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])
  const s = Number(out.trim())
  if (!Number.isFinite(s) || s <= 0) throw new Error(`cannot read the duration of ${file}`)
  return s
}

/**
 * The mosaic of `clip`, generated on first use into `cacheDir` (default <tmp>/vigil-bench-cache).
 * Keyed on the clip's path, size and mtime and the spec, so a changed clip gives a new file.
 */
export async function ensureMosaic(
  clip: string,
  n: number,
  cacheDir = join(tmpdir(), 'vigil-bench-cache')
): Promise<string> {
  const st = statSync(clip)
  const clipSeconds = await probeSeconds(clip)
  const spec: MosaicSpec = { ...DEFAULT_MOSAIC, n, seconds: Math.min(20, Math.max(4, clipSeconds)) }
  const key = createHash('sha256')
    .update(JSON.stringify([clip, st.size, st.mtimeMs, spec]))
    .digest('hex')
    .slice(0, 16)
  const out = join(cacheDir, `mosaic-${n}x${n}-${spec.width}x${spec.height}-${key}.mp4`)
  if (existsSync(out)) return out
  await mkdir(cacheDir, { recursive: true })
  // another bench may be writing the same file: each writes its own partial, the rename is atomic
  const partial = `${out}.${process.pid}.partial.mp4`
  try {
    await runTool('ffmpeg', mosaicArgs(clip, clipSeconds, spec, partial))
    await rename(partial, out)
  } finally {
    await rm(partial, { force: true })
  }
  return out
}

function runTool(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
    p.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)))
    p.on('error', reject)
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${String(code)}: ${err.trim()}`))
    )
  })
}
