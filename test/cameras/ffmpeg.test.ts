import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { ffmpegInfo, locateFfmpeg, parseFfmpegVersion, parseRtspTimeoutOption } from '../../src/main/cameras/ffmpeg'

const bundled = ((): string | null => {
  try {
    const p = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path
    return existsSync(p) ? p : null
  } catch {
    return null
  }
})()

describe('locateFfmpeg', () => {
  it('VIGIL_FFMPEG wins, then the configured path, then PATH, then the bundled binary', () => {
    const sys = locateFfmpeg({ env: { PATH: process.env.PATH } })
    expect(['system', 'bundled']).toContain(sys.origin)
    expect(locateFfmpeg({ env: { VIGIL_FFMPEG: sys.path }, configuredPath: '/nope' })).toEqual({
      path: sys.path,
      origin: 'env'
    })
    expect(locateFfmpeg({ env: {}, configuredPath: sys.path })).toEqual({ path: sys.path, origin: 'configured' })
    if (bundled) expect(locateFfmpeg({ env: { PATH: '' } })).toEqual({ path: bundled, origin: 'bundled' })
  })

  it('an explicit path that is not executable is an error, not a silent fallback', () => {
    expect(() => locateFfmpeg({ env: { VIGIL_FFMPEG: '/definitely/not/ffmpeg' } })).toThrow(
      /VIGIL_FFMPEG.*not an executable/
    )
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ff-'))
    const plain = join(dir, 'ffmpeg')
    writeFileSync(plain, 'not a program', { mode: 0o644 })
    try {
      expect(() => locateFfmpeg({ env: {}, configuredPath: plain })).toThrow(/not an executable/)
      expect(() => locateFfmpeg({ env: {}, configuredPath: dir })).toThrow(/not an executable/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('ffmpegInfo', () => {
  it('parses version and the RTSP timeout option from help text', () => {
    expect(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026')).toBe('5.1.9-0+deb12u1')
    expect(parseFfmpegVersion('garbage')).toBe('unknown')
    expect(
      parseRtspTimeoutOption('  -timeout  <int64> .D... set timeout (in microseconds) of socket I/O operations')
    ).toBe('-timeout')
    expect(
      parseRtspTimeoutOption(
        '  -timeout <int> .D... set maximum timeout (in seconds) to wait for incoming connections\n  -stimeout <int> .D... set timeout (in microseconds) of socket TCP I/O operations'
      )
    ).toBe('-stimeout')
  })

  it('reports version and RTSP timeout option of the real binaries', async () => {
    const sys = locateFfmpeg()
    const info = await ffmpegInfo(sys)
    console.log(`ffmpeg ${info.origin} ${info.path}: ${info.version}, RTSP timeout ${info.rtspTimeoutOption}`)
    expect(info.version).not.toBe('unknown')
    if (bundled) {
      const b = await ffmpegInfo({ path: bundled, origin: 'bundled' })
      console.log(`ffmpeg bundled ${b.path}: ${b.version}, RTSP timeout ${b.rtspTimeoutOption}`)
      expect(b.version).not.toBe('unknown')
      // the 2018 static build: -timeout there would mean "listen as a server"
      if (/^N-4|^4\./.test(b.version)) expect(b.rtspTimeoutOption).toBe('-stimeout')
    }
  })
})
