// Shared by test/store and test/events: temp data dirs, real JPEGs, quiet loggers, sample events.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import type { EventRecord } from '../../src/shared/types'

export async function tempDir(prefix = 'vigil-store-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export { recordingLogger } from '../support/logger'

/** A real small JPEG of a flat colour. */
export function jpeg(r = 120, g = 80, b = 40, size = 32): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer()
}

let seq = 0
export function sampleEvent(over: Partial<EventRecord> = {}): EventRecord {
  const at = over.startedAt ?? 1_750_000_000_000
  seq++
  return {
    id: `ev-${seq}`,
    cameraId: 'cam-1',
    trackId: `t${seq}`,
    band: 'match',
    personId: 'p-1',
    personName: 'Ada Lovelace',
    score: 0.61,
    decision: 'auto',
    startedAt: at,
    updatedAt: at + 4000,
    box: { x: 100, y: 120, w: 80, h: 96 },
    crop: `crops/2025-06-15/00000000-0000-4000-8000-${String(seq).padStart(12, '0')}.jpg`,
    snapshot: `snapshots/2025-06-15/00000000-0000-4000-8000-${String(seq).padStart(12, '0')}.jpg`,
    reviewItemId: null,
    ...over
  }
}

/** Polls `check` until it passes (returns without throwing) or `timeoutMs` elapses; the machine is shared and slow. */
export async function waitFor(check: () => void, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      check()
      return
    } catch (e) {
      if (Date.now() > end) throw e
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}
