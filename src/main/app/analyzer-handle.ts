import { ApiError } from '../../shared/api'
import type { WorkerInfo } from '../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, RgbImage } from '../contracts'
import { serial } from '../util/serial'

/**
 * A stable Analyzer in front of a replaceable pool: when an admin changes the execution provider
 * or the worker count, a new pool is started first and swapped in, so the gallery and the live
 * processor (which hold this handle) never see a gap. Jobs the old pool had queued but not started
 * are refused by its close(); they are re-sent once to the new pool instead of failing.
 */
export class AnalyzerHandle implements Analyzer {
  private readonly replacing = serial()
  private closed = false

  constructor(private current: Analyzer) {}

  analyzeEncoded(bytes: Uint8Array, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    return this.run((a) => a.analyzeEncoded(bytes, opts))
  }

  analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    return this.run((a) => a.analyzeRaw(image, opts))
  }

  workers(): WorkerInfo[] {
    return this.current.workers()
  }

  queueDepth(): number {
    return this.current.queueDepth()
  }

  /** Starts the replacement with `create`; on failure the current pool stays and the error is thrown. */
  replace(create: () => Promise<Analyzer>): Promise<void> {
    if (this.closed) return Promise.reject(new ApiError('internal', 'the engine is shutting down'))
    return this.replacing.run(async () => {
      const next = await create()
      if (this.closed) {
        // close() began while the new pool was starting: it must not outlive the engine
        await next.close()
        throw new ApiError('internal', 'the engine is shutting down')
      }
      const old = this.current
      this.current = next
      await old.close()
    })
  }

  async close(): Promise<void> {
    this.closed = true
    await this.replacing.idle()
    await this.current.close()
  }

  private async run(job: (a: Analyzer) => Promise<AnalyzeResult>): Promise<AnalyzeResult> {
    const used = this.current
    try {
      return await job(used)
    } catch (err) {
      if (!this.closed && this.current !== used && err instanceof ApiError && err.code === 'internal')
        return job(this.current)
      throw err
    }
  }
}
