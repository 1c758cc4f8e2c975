import type { WorkerInfo } from '../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, RgbImage } from '../contracts'

/**
 * A stable Analyzer in front of a replaceable pool: when an admin changes the execution provider
 * or the worker count, a new pool is started first and swapped in, so the gallery and the live
 * processor (which hold this handle) never see a gap; the old pool finishes its running jobs.
 */
export class AnalyzerHandle implements Analyzer {
  private replacing: Promise<void> = Promise.resolve()

  constructor(private current: Analyzer) {}

  get analyzer(): Analyzer {
    return this.current
  }

  analyzeEncoded(bytes: Uint8Array, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    return this.current.analyzeEncoded(bytes, opts)
  }

  analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    return this.current.analyzeRaw(image, opts)
  }

  workers(): WorkerInfo[] {
    return this.current.workers()
  }

  queueDepth(): number {
    return this.current.queueDepth()
  }

  /** Starts the replacement with `create`; on failure the current pool stays and the error is thrown. */
  replace(create: () => Promise<Analyzer>): Promise<void> {
    const run = this.replacing.then(async () => {
      const next = await create()
      const old = this.current
      this.current = next
      await old.close()
    })
    this.replacing = run.catch(() => {})
    return run
  }

  async close(): Promise<void> {
    await this.replacing
    await this.current.close()
  }
}
