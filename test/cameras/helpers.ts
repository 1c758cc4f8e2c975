import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CameraSource } from '../../src/main/cameras/source'
import type { CameraConfig, CameraStatus } from '../../src/shared/types'

export { REPO_ROOT as repoRoot, DATA_DIR as dataDir } from '../support/data'

export function cameraConfig(over: Partial<CameraConfig> & { url: string }): CameraConfig {
  return {
    id: 'cam1',
    name: 'Test',
    enabled: true,
    detectFps: 5,
    maxDetectWidth: 320,
    minFaceSize: 20,
    loop: true,
    ...over
  }
}

/** A temp dir with a 3 s 640×360 test pattern (no shared data needed) and a file that is not video. */
export function makeMedia(ffmpeg: string): { dir: string; video: string; notVideo: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cam-'))
  const video = join(dir, 'testsrc.mp4')
  execFileSync(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=25',
    '-t',
    '3',
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'mpeg4',
    '-q:v',
    '5',
    video
  ])
  const notVideo = join(dir, 'not-a-video.mp4')
  writeFileSync(notVideo, 'this is text, not a video\n')
  return { dir, video, notVideo, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Resolves with the first status satisfying `pred` (checks the current one first). */
export function waitForStatus(
  src: CameraSource,
  pred: (s: CameraStatus) => boolean,
  timeoutMs: number
): Promise<CameraStatus> {
  return new Promise((res, rej) => {
    const now = src.status()
    if (pred(now)) return res(now)
    const t = setTimeout(() => {
      src.off('status', on)
      rej(new Error(`status not reached within ${timeoutMs} ms; last: ${JSON.stringify(src.status())}`))
    }, timeoutMs)
    const on = (s: CameraStatus): void => {
      if (!pred(s)) return
      clearTimeout(t)
      src.off('status', on)
      res(s)
    }
    src.on('status', on)
  })
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
