import type { CameraLoad, ExecutionProvider, LiveLoad, WorkerView } from '@shared/types'

const SHORT: Record<ExecutionProvider, string> = {
  cpu: 'CPU',
  cuda: 'CUDA GPU',
  dml: 'DirectML GPU',
  coreml: 'Core ML'
}

/** Header line for the inference pool: "CPU ×2", "CUDA GPU ×1 · CPU ×1 · 1 crashed". */
export function workerSummary(workers: WorkerView[]): { text: string; trouble: boolean; fellBack: boolean } {
  if (!workers.length) return { text: 'no workers', trouble: true, fellBack: false }
  const live = workers.filter((w) => w.state !== 'crashed' && w.state !== 'stopped')
  const byProvider = new Map<ExecutionProvider, number>()
  for (const w of live) byProvider.set(w.provider, (byProvider.get(w.provider) ?? 0) + 1)
  const parts = [...byProvider].map(([p, n]) => `${SHORT[p]} ×${n}`)
  const crashed = workers.filter((w) => w.state === 'crashed').length
  if (crashed) parts.push(`${crashed} crashed`)
  if (!live.length && !crashed) parts.push('stopped')
  return {
    text: parts.join(' · '),
    trouble: crashed > 0 || live.length === 0,
    fellBack: workers.some((w) => w.provider !== w.requested)
  }
}

function fps1(x: number): string {
  return x.toFixed(1).replace(/\.0$/, '')
}

/** "overloaded: analysing 2.1 of 5 fps" (mean per camera), or null when the engine keeps up. */
export function overloadText(load: LiveLoad | CameraLoad | null | undefined): string | null {
  if (!load?.overloaded) return null
  return `overloaded: analysing ${fps1(load.analysedFps)} of ${fps1(load.offeredFps)} fps`
}

/** The load entry of one camera, when the engine reports one. */
export function cameraLoad(load: LiveLoad | null | undefined, cameraId: string): CameraLoad | null {
  return load?.cameras.find((c) => c.cameraId === cameraId) ?? null
}
