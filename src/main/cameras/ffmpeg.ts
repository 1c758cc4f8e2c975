// Locating the ffmpeg binary and learning what it supports. The bundled @ffmpeg-installer build is a
// 2018 ffmpeg 4.1: its RTSP socket timeout is -stimeout and its -timeout means "listen as a server",
// so the option set must come from the binary actually used, never from an assumption.
import { execFile } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, join } from 'node:path'

export type FfmpegOrigin = 'env' | 'configured' | 'system' | 'bundled'

export interface FfmpegLocation {
  path: string
  origin: FfmpegOrigin
}

export interface FfmpegInfo extends FfmpegLocation {
  /** e.g. "5.1.9-0+deb12u1" or "N-47683-g0e8eb07980-static" */
  version: string
  /** the RTSP demuxer option taking a socket I/O timeout in microseconds */
  rtspTimeoutOption: '-timeout' | '-stimeout'
  /** last year of the copyright line ("Copyright (c) 2000-2018"): how old the source of the build is */
  copyrightYear: number | null
}

export interface LocateOptions {
  /** path from the app settings; wins over PATH lookup and the bundled binary */
  configuredPath?: string | null
  env?: NodeJS.ProcessEnv
  /** look for ffmpeg on PATH (default true) */
  searchPath?: boolean
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false
    accessSync(p, process.platform === 'win32' ? constants.F_OK : constants.X_OK)
    return true
  } catch {
    return false
  }
}

function findOnPath(env: NodeJS.ProcessEnv): string | null {
  const dirs = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean)
  const names = process.platform === 'win32' ? ['ffmpeg.exe'] : ['ffmpeg']
  for (const d of dirs) {
    for (const n of names) {
      const p = join(d, n)
      if (isExecutable(p)) return p
    }
  }
  return null
}

function bundledPath(): string | null {
  try {
    // createRequire: the installer is CommonJS and throws at load time on unsupported platforms.
    const req = createRequire(import.meta.url)
    const mod = req('@ffmpeg-installer/ffmpeg') as { path?: unknown }
    if (typeof mod.path !== 'string') return null
    // electron-builder unpacks native binaries next to the asar; the module still reports the asar path
    const p = mod.path.replace('app.asar', 'app.asar.unpacked')
    return isExecutable(p) ? p : null
  } catch {
    return null
  }
}

/**
 * Order: VIGIL_FFMPEG, the configured path, a system ffmpeg on PATH, the bundled static binary.
 * System builds come before the bundled one because the bundled build is old (4.1, 2018).
 * An explicitly given path (env or configured) that is not executable is an error rather than a
 * silent fallback: the operator asked for that binary.
 */
export function locateFfmpeg(opts: LocateOptions = {}): FfmpegLocation {
  const env = opts.env ?? process.env
  const fromEnv = env.VIGIL_FFMPEG?.trim()
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`VIGIL_FFMPEG points to ${fromEnv}, which is not an executable file`)
    return { path: fromEnv, origin: 'env' }
  }
  const configured = opts.configuredPath?.trim()
  if (configured) {
    if (!isExecutable(configured)) throw new Error(`configured ffmpeg ${configured} is not an executable file`)
    return { path: configured, origin: 'configured' }
  }
  if (opts.searchPath !== false) {
    const sys = findOnPath(env)
    if (sys) return { path: sys, origin: 'system' }
  }
  const bundled = bundledPath()
  if (bundled) return { path: bundled, origin: 'bundled' }
  throw new Error('ffmpeg not found: install ffmpeg, set VIGIL_FFMPEG, or reinstall @ffmpeg-installer/ffmpeg')
}

function run(path: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path,
      args,
      { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        // `-h demuxer=…` exits 0 on every version; an error here means the binary itself is broken
        if (err) reject(new Error(`${path} ${args.join(' ')} failed: ${err.message}`))
        else resolve(`${stdout}\n${stderr}`)
      }
    )
  })
}

/** First line of `ffmpeg -version`: "ffmpeg version 5.1.9-0+deb12u1 Copyright …" */
export function parseFfmpegVersion(text: string): string {
  const m = /ffmpeg version (\S+)/.exec(text)
  return m?.[1] ?? 'unknown'
}

/** "Copyright (c) 2000-2018 the FFmpeg developers" → 2018 */
export function parseCopyrightYear(text: string): number | null {
  const m = /Copyright \(c\) \d{4}-(\d{4})/.exec(text)
  return m ? Number(m[1]) : null
}

/** Oldest ffmpeg trusted with network input: 5.0 (January 2022); older demuxers have known CVEs. */
export const MIN_FFMPEG_MAJOR = 5
export const MIN_FFMPEG_YEAR = 2022

/**
 * Why this build must not parse untrusted camera input, or null when it is current enough. A
 * release version ("5.1.9-0+deb12u1", "n6.1") decides by its major number; a git snapshot
 * ("N-47683-g0e8eb07980-static", the bundled 2018 build) by its copyright year.
 */
export function staleReason(info: Pick<FfmpegInfo, 'version' | 'copyrightYear' | 'path'>): string | null {
  const major = /^n?(\d+)\./.exec(info.version)?.[1]
  const current = major !== undefined ? Number(major) >= MIN_FFMPEG_MAJOR : (info.copyrightYear ?? 0) >= MIN_FFMPEG_YEAR
  if (current) return null
  const age = info.copyrightYear ? ` from ${info.copyrightYear}` : ''
  return (
    `ffmpeg ${info.version}${age} at ${info.path} is too old to read camera streams safely ` +
    `(needs ${MIN_FFMPEG_MAJOR}.0 or newer): install a current ffmpeg (e.g. apt install ffmpeg) or point VIGIL_FFMPEG at one`
  )
}

/** Reads the RTSP demuxer help: ffmpeg ≥ 5 dropped -stimeout and gave -timeout its meaning. */
export function parseRtspTimeoutOption(helpText: string): '-timeout' | '-stimeout' {
  if (/^\s*-stimeout\s/m.test(helpText)) return '-stimeout'
  return '-timeout'
}

const infoCache = new Map<string, Promise<FfmpegInfo>>()

/** Version and capabilities of the ffmpeg at `loc` (located when omitted); cached per path. */
export function ffmpegInfo(loc?: FfmpegLocation | string): Promise<FfmpegInfo> {
  const where: FfmpegLocation = typeof loc === 'string' ? { path: loc, origin: 'configured' } : (loc ?? locateFfmpeg())
  let p = infoCache.get(where.path)
  if (!p) {
    p = (async () => {
      const [versionText, rtspHelp] = await Promise.all([
        run(where.path, ['-version'], 10_000),
        run(where.path, ['-hide_banner', '-h', 'demuxer=rtsp'], 10_000)
      ])
      return {
        ...where,
        version: parseFfmpegVersion(versionText),
        rtspTimeoutOption: parseRtspTimeoutOption(rtspHelp),
        copyrightYear: parseCopyrightYear(versionText)
      }
    })()
    // a failed probe must not poison the cache: the binary may be fixed and retried
    p.catch(() => infoCache.delete(where.path))
    infoCache.set(where.path, p)
  }
  return p
}

/**
 * ffmpegInfo for a binary that will read camera input: refuses a stale build (the bundled 2018
 * static binary in particular) with a message saying what to install, instead of running it.
 */
export async function currentFfmpeg(loc?: FfmpegLocation | string): Promise<FfmpegInfo> {
  const info = await ffmpegInfo(loc)
  const stale = staleReason(info)
  if (stale) throw new Error(stale)
  return info
}
