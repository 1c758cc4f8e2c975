// Child-process side of the pool: receives the config, builds the analyzer, answers jobs one at a
// time. Kept apart from worker-entry.ts so test workers can wrap the real analyzer (to hang or
// crash on purpose) while running exactly the same message loop as production.
import type { ExecutionProvider } from '../../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, RgbImage } from '../../contracts'
import { errorToBody, parseToWorker, type FromWorker, type JobInput, type WorkerConfig } from './protocol'
import { serial } from '../../util/serial'

/** What a worker runs; FacePipeline satisfies it. */
export interface WorkerAnalyzer {
  readonly provider: ExecutionProvider
  /** why the requested provider was not obtained (logged by the pool) */
  readonly fallbackReason?: string | null
  analyzeEncoded(bytes: Uint8Array, opts?: AnalyzeOptions): Promise<AnalyzeResult>
  analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult>
  close(): Promise<void>
}

export type AnalyzerFactory = (config: WorkerConfig) => Promise<WorkerAnalyzer>

function send(msg: FromWorker): void {
  // The parent may already be gone (killed pool); there is nobody left to tell.
  process.send?.(msg, undefined, undefined, () => undefined)
}

function run(analyzer: WorkerAnalyzer, input: JobInput, opts: AnalyzeOptions | undefined): Promise<AnalyzeResult> {
  return input.kind === 'encoded' ? analyzer.analyzeEncoded(input.bytes, opts) : analyzer.analyzeRaw(input.image, opts)
}

export function runWorkerHost(create: AnalyzerFactory): void {
  if (!process.send) {
    process.stderr.write('inference worker: no IPC channel; this file is started by InferencePool, not by hand\n')
    process.exit(2)
  }
  let analyzer: WorkerAnalyzer | null = null
  let config: WorkerConfig | null = null
  // One job at a time: onnxruntime already uses the worker's threads, interleaving would only
  // make per-job timing (and the pool's hang timeout) meaningless.
  const jobs = serial()

  // Without the parent nobody can receive answers; leaving would orphan a process holding models.
  process.on('disconnect', () => process.exit(0))

  process.on('message', (raw: unknown) => {
    const msg = parseToWorker(raw)
    if (!msg) {
      process.stderr.write(`inference worker: ignoring malformed message\n`)
      return
    }
    if (msg.kind === 'init') {
      if (config) return
      config = msg.config
      const cfg = config
      create(cfg).then(
        (a) => {
          analyzer = a
          send({ kind: 'ready', provider: a.provider, pid: process.pid, fallbackReason: a.fallbackReason ?? null })
        },
        (err: unknown) => {
          send({ kind: 'fatal', message: errorToBody(err).message })
          // let the fatal message flush before leaving
          setTimeout(() => process.exit(1), 50)
        }
      )
      return
    }
    if (msg.kind === 'close') {
      void jobs.run(async () => {
        await analyzer?.close().catch(() => undefined)
        process.exit(0)
      })
      return
    }
    const { id, input, opts } = msg
    void jobs.run(async () => {
      if (!analyzer || !config) {
        send({
          kind: 'error',
          id,
          error: { code: 'internal', message: 'inference worker received a job before it was ready' }
        })
        return
      }
      try {
        const result = await run(analyzer, input, opts)
        send({ kind: 'result', id, result: { ...result, workerId: config.workerId } })
      } catch (err) {
        send({ kind: 'error', id, error: errorToBody(err) })
      }
    })
  })
}
