// Inference worker pool: N child processes, each holding its own onnxruntime sessions.
//
// Why child processes and not worker_threads (measured with test/pool/measure-transport.ts and
// test/pool/pool.stress.test.ts on the 2-core dev box; noisy, other people were using the CPU):
// - Crash isolation decides it. onnxruntime-node has reported crashes with several sessions in
//   worker threads inside Electron, and a native fault (SIGSEGV/abort) in any thread takes the
//   whole process down: with threads that is the Electron main process, i.e. the console. A hung
//   native session.run cannot be stopped by Worker.terminate() either (it only interrupts JS).
//   A child process can be SIGKILLed and replaced; the stress test does exactly that mid-run and
//   every job is still answered.
// - Transfer cost is small against the model time. A 640×360 RGB frame (691 kB) costs ~0.8–0.9 ms
//   per job over IPC with serialization 'advanced' (typed arrays go as raw bytes, no JSON; JSON +
//   base64 costs ~5.7 ms), against ~0.45 ms for a worker_threads copy and ~0.03 ms for a transfer.
//   Encoded images (what analyzeEncoded gets) are far smaller and are decoded in the child.
//   A small message round trip is ~0.15 ms (threads ~0.06 ms). End to end (npm run bench) the
//   pool adds a median ~0.65–0.75 ms per LFW job to ~17–19 ms of pipeline time (~4 %). Most of it
//   is waking processes, not copying: with a stand-in worker that answers after N ms of busy work
//   the overhead was 0.23 ms at N = 0, 0.34 at 2 and 0.64 at 18 (the dev VM halts an idle vCPU at
//   once, so a parent that slept through the job pays for being woken). Fewer, larger messages
//   would not help; a sequential caller simply pays it once per job.
// - Memory: a child with the three sessions loaded is ~100 MB RSS, of which ~43 MB is a second
//   Node runtime; the same sessions in a worker thread add ~56 MB. ~45 MB per worker is an
//   acceptable price for a console that must not die with its inference.
// The pool itself never imports Electron: in Electron pass execPath (process.execPath) and the
// child is started as plain Node through ELECTRON_RUN_AS_NODE=1 (set automatically when the
// parent is Electron).
import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiError } from '../../../shared/api'
import type { ExecutionProvider, WorkerInfo } from '../../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, RgbImage } from '../../contracts'
import { resolveWorkerEntry, tsLoaderExecArgv } from './entry'
import { bodyToError, parseFromWorker, type JobInput, type WorkerConfig } from './protocol'

export interface PoolOptions {
  /** number of worker processes (default: number of cores) */
  size?: number
  /** requested execution provider; each worker reports what it actually got (default 'cpu') */
  provider?: ExecutionProvider
  /** onnxruntime intra-op threads per worker (default: cores / size, at least 1) */
  threadsPerWorker?: number
  /** jobs waiting for a worker before new ones are refused with ApiError('busy') (default 64) */
  maxQueue?: number
  /** input bytes held by waiting jobs before new ones are refused with 'busy' (default 256 MiB) */
  maxQueueBytes?: number
  /** a worker that does not answer a job within this time is killed and replaced (default 30 s) */
  jobTimeoutMs?: number
  /** a worker that is not ready within this time is killed (default 60 s) */
  startTimeoutMs?: number
  modelsDir?: string
  /** worker script; default: found next to this module (bundle, compiled JS or TS source) */
  workerEntry?: string
  /** executable for the children; in Electron: process.execPath */
  execPath?: string
  /** environment of the children (default: this process's) */
  env?: NodeJS.ProcessEnv
  /** passed to the worker entry in its config (custom/test entries) */
  extra?: Record<string, string | number | boolean>
  /** inputs bigger than this are refused with 'too_large' before crossing IPC (default 64 MiB) */
  maxInputBytes?: number
  /** worker stdout/stderr lines (default: prefixed onto this process's stderr) */
  onLog?: (workerId: number, line: string) => void
  /** called on every worker state change, i.e. twice per job: throttle before pushing to a UI */
  onWorkersChanged?: (workers: WorkerInfo[]) => void
}

export interface PoolCounters {
  /** worker processes started, including replacements */
  spawned: number
  /** workers that died or were killed while the pool was open */
  crashed: number
  /** workers killed because a job exceeded jobTimeoutMs */
  timeouts: number
  /** jobs re-queued after their worker died */
  retried: number
  /** jobs that failed because their worker died on both attempts */
  failedAfterRetry: number
  /** calls refused because the queue was full */
  rejectedBusy: number
}

interface Job {
  id: number
  input: JobInput
  bytes: number
  opts?: AnalyzeOptions
  attempts: number
  failures: string[]
  resolve: (r: AnalyzeResult) => void
  reject: (e: Error) => void
}

interface Slot {
  index: number
  info: WorkerInfo
  child: ChildProcess | null
  job: Job | null
  jobTimer: NodeJS.Timeout | null
  startTimer: NodeJS.Timeout | null
  /** why the pool killed it (or what the worker said before dying), for the error message */
  exitReason: string | null
  everReady: boolean
  gone: boolean
  started: Promise<void>
  markStarted: () => void
  failStart: (e: Error) => void
}

const MAX_ATTEMPTS = 2
const CLOSE_GRACE_MS = 5_000
/** after this many workers in a row fail to start, queued and new jobs are refused */
const BROKEN_AFTER = 3

function defaultParallelism(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback
  if (!Number.isInteger(v) || v < 1)
    throw new ApiError('invalid_request', `${name} must be a positive integer, got ${String(v)}`)
  return v
}

/** Refuses inputs that would fail in the worker anyway, before they cost an IPC copy. */
export function validateRawImage(image: RgbImage): void {
  const { data, width, height } = image ?? ({} as Partial<RgbImage>)
  if (!(data instanceof Uint8Array))
    throw new ApiError('bad_image', 'raw image data must be a Uint8Array of packed RGB')
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ApiError('bad_image', `raw image size must be positive integers, got ${String(width)}×${String(height)}`)
  }
  if (data.length !== width * height * 3) {
    throw new ApiError(
      'bad_image',
      `raw image of ${width}×${height} needs ${width * height * 3} bytes of RGB, got ${data.length}`
    )
  }
}

export class InferencePool implements Analyzer {
  private readonly slots: Slot[] = []
  private readonly queue: Job[] = []
  private queuedBytes = 0
  private readonly replaceTimers = new Set<NodeJS.Timeout>()
  private nextWorkerId = 1
  private nextJobId = 1
  private closing: Promise<void> | null = null
  private startFailures = 0
  private lastStartError = ''
  private brokenReason: string | null = null
  private readonly counters_: PoolCounters = {
    spawned: 0,
    crashed: 0,
    timeouts: 0,
    retried: 0,
    failedAfterRetry: 0,
    rejectedBusy: 0
  }

  private constructor(
    private readonly size: number,
    private readonly provider: ExecutionProvider,
    private readonly threads: number,
    private readonly maxQueue: number,
    private readonly maxQueueBytes: number,
    private readonly jobTimeoutMs: number,
    private readonly startTimeoutMs: number,
    private readonly maxInputBytes: number,
    private readonly entryFile: string,
    private readonly execArgv: string[],
    private readonly execPath: string | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly opts: PoolOptions
  ) {}

  /** Starts every worker and resolves once all are ready; rejects (and cleans up) if any cannot start. */
  static async create(opts: PoolOptions = {}): Promise<InferencePool> {
    const cores = defaultParallelism()
    const size = positiveInt('size', opts.size, cores)
    const threads = positiveInt('threadsPerWorker', opts.threadsPerWorker, Math.max(1, Math.floor(cores / size)))
    const maxQueue = positiveInt('maxQueue', opts.maxQueue, 64)
    const maxQueueBytes = positiveInt('maxQueueBytes', opts.maxQueueBytes, 256 * 1024 * 1024)
    const jobTimeoutMs = positiveInt('jobTimeoutMs', opts.jobTimeoutMs, 30_000)
    const startTimeoutMs = positiveInt('startTimeoutMs', opts.startTimeoutMs, 60_000)
    const maxInputBytes = positiveInt('maxInputBytes', opts.maxInputBytes, 64 * 1024 * 1024)
    const moduleDir = path.dirname(fileURLToPath(import.meta.url))
    const entry = resolveWorkerEntry(moduleDir, opts.workerEntry)
    const execArgv = entry.needsTsLoader ? tsLoaderExecArgv(import.meta.url) : []
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) }
    // Forking from Electron would otherwise start a second copy of the app instead of Node.
    if (process.versions.electron || opts.execPath) env.ELECTRON_RUN_AS_NODE = '1'
    const pool = new InferencePool(
      size,
      opts.provider ?? 'cpu',
      threads,
      maxQueue,
      maxQueueBytes,
      jobTimeoutMs,
      startTimeoutMs,
      maxInputBytes,
      entry.file,
      execArgv,
      opts.execPath,
      env,
      opts
    )
    for (let i = 0; i < size; i++) pool.spawn(i)
    try {
      await Promise.all(pool.slots.map((s) => s.started))
    } catch (err) {
      await pool.close()
      throw new ApiError('internal', `inference pool could not start: ${(err as Error).message}`)
    }
    return pool
  }

  analyzeEncoded(bytes: Uint8Array, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      return Promise.reject(new ApiError('bad_image', 'image bytes are empty or not a Uint8Array'))
    }
    if (bytes.length > this.maxInputBytes) {
      return Promise.reject(
        new ApiError('too_large', `image of ${bytes.length} bytes exceeds the ${this.maxInputBytes}-byte limit`)
      )
    }
    return this.submit({ kind: 'encoded', bytes }, bytes.length, opts)
  }

  analyzeRaw(image: RgbImage, opts?: AnalyzeOptions): Promise<AnalyzeResult> {
    try {
      validateRawImage(image)
    } catch (err) {
      return Promise.reject(err)
    }
    if (image.data.length > this.maxInputBytes) {
      return Promise.reject(
        new ApiError('too_large', `frame of ${image.data.length} bytes exceeds the ${this.maxInputBytes}-byte limit`)
      )
    }
    // Only the fields the worker needs cross IPC; a caller's extra fields would be copied too.
    return this.submit(
      { kind: 'raw', image: { data: image.data, width: image.width, height: image.height } },
      image.data.length,
      opts
    )
  }

  workers(): WorkerInfo[] {
    return this.slots.map((s) => ({ ...s.info }))
  }

  queueDepth(): number {
    return this.queue.length
  }

  counters(): PoolCounters {
    return { ...this.counters_ }
  }

  /** Refuses new jobs, fails queued ones, lets running ones finish (up to a grace period), stops every worker. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.closing = this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    for (const t of this.replaceTimers) clearTimeout(t)
    this.replaceTimers.clear()
    for (const job of this.takeQueue())
      job.reject(new ApiError('internal', 'inference pool closed before the job started'))
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child
        if (!child || slot.gone) return
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        if (slot.gone) return
        // The worker finishes the job it is on before it leaves, so that answer is not thrown away.
        if (child.connected) child.send({ kind: 'close' }, undefined, undefined, () => undefined)
        const kill = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS)
        await exited
        clearTimeout(kill)
      })
    )
    for (const slot of this.slots) slot.info.state = 'stopped'
    this.changed()
  }

  private submit(input: JobInput, bytes: number, opts: AnalyzeOptions | undefined): Promise<AnalyzeResult> {
    if (this.closing) return Promise.reject(new ApiError('internal', 'inference pool is closed'))
    if (this.brokenReason)
      return Promise.reject(new ApiError('internal', `inference workers cannot start: ${this.brokenReason}`))
    if (!this.idleSlot()) {
      const full =
        this.queue.length >= this.maxQueue
          ? `${this.queue.length} jobs`
          : this.queue.length > 0 && this.queuedBytes + bytes > this.maxQueueBytes
            ? `${Math.round(this.queuedBytes / 1048576)} MiB of images`
            : null
      if (full) {
        this.counters_.rejectedBusy++
        return Promise.reject(
          new ApiError(
            'busy',
            `inference queue is full (${full} waiting for ${this.size} workers); try again shortly`,
            {
              queueDepth: this.queue.length
            }
          )
        )
      }
    }
    return new Promise<AnalyzeResult>((resolve, reject) => {
      this.queue.push({ id: this.nextJobId++, input, bytes, opts, attempts: 0, failures: [], resolve, reject })
      this.queuedBytes += bytes
      this.dispatch()
    })
  }

  private takeQueue(): Job[] {
    this.queuedBytes = 0
    return this.queue.splice(0)
  }

  private idleSlot(): Slot | undefined {
    return this.slots.find((s) => !s.gone && s.info.state === 'ready' && !s.job)
  }

  private dispatch(): void {
    for (let slot = this.idleSlot(); slot && this.queue.length > 0; slot = this.idleSlot()) {
      const job = this.queue.shift() as Job
      this.queuedBytes -= job.bytes
      this.assign(slot, job)
    }
  }

  private assign(slot: Slot, job: Job): void {
    const child = slot.child as ChildProcess
    job.attempts++
    slot.job = job
    slot.info.state = 'busy'
    slot.jobTimer = setTimeout(() => {
      this.counters_.timeouts++
      slot.exitReason = `gave no answer within ${this.jobTimeoutMs} ms (hung) and was killed`
      child.kill('SIGKILL')
    }, this.jobTimeoutMs)
    try {
      child.send({ kind: 'job', id: job.id, input: job.input, opts: job.opts }, undefined, undefined, (err) => {
        if (err && !slot.gone && slot.job === job) {
          slot.exitReason = `could not be sent the job (${err.message}) and was killed`
          child.kill('SIGKILL')
        }
      })
    } catch (err) {
      // Thrown synchronously when the job itself cannot be serialised (e.g. a function in opts):
      // the caller's fault, the worker is fine.
      if (slot.jobTimer) clearTimeout(slot.jobTimer)
      slot.jobTimer = null
      slot.job = null
      slot.info.state = 'ready'
      job.reject(
        new ApiError('invalid_request', `the job cannot be sent to an inference worker: ${(err as Error).message}`)
      )
    }
    this.changed()
  }

  private spawn(index: number): void {
    const id = this.nextWorkerId++
    let markStarted: () => void = () => undefined
    let failStart: (e: Error) => void = () => undefined
    const started = new Promise<void>((resolve, reject) => {
      markStarted = resolve
      failStart = reject
    })
    // create() awaits it; replacements only log, so an unawaited rejection must not crash the host
    started.catch(() => undefined)
    const slot: Slot = {
      index,
      info: { id, pid: null, requested: this.provider, provider: this.provider, state: 'starting', jobsDone: 0 },
      child: null,
      job: null,
      jobTimer: null,
      startTimer: null,
      exitReason: null,
      everReady: false,
      gone: false,
      started,
      markStarted,
      failStart
    }
    this.slots[index] = slot
    this.counters_.spawned++
    let child: ChildProcess
    try {
      child = fork(this.entryFile, [], {
        execPath: this.execPath,
        execArgv: this.execArgv,
        env: this.env,
        serialization: 'advanced',
        stdio: ['ignore', 'pipe', 'pipe', 'ipc']
      })
    } catch (err) {
      slot.exitReason = `could not be started: ${(err as Error).message}`
      this.onExit(slot, null, null)
      return
    }
    slot.child = child
    slot.info.pid = child.pid ?? null
    this.pipeLogs(id, child)
    child.on('message', (m: unknown) => this.onMessage(slot, m))
    child.once('exit', (code, signal) => this.onExit(slot, code, signal))
    child.on('error', (err) => {
      slot.exitReason ??= `failed: ${err.message}`
      // A failed spawn emits 'error' but never 'exit'.
      if (child.pid === undefined) this.onExit(slot, null, null)
    })
    slot.startTimer = setTimeout(() => {
      slot.exitReason = `was not ready within ${this.startTimeoutMs} ms and was killed`
      child.kill('SIGKILL')
    }, this.startTimeoutMs)
    const config: WorkerConfig = {
      workerId: id,
      modelsDir: this.opts.modelsDir,
      provider: this.provider,
      threads: this.threads,
      extra: this.opts.extra
    }
    child.send({ kind: 'init', config }, undefined, undefined, () => undefined)
    this.changed()
  }

  private log(workerId: number, line: string): void {
    if (this.opts.onLog) this.opts.onLog(workerId, line)
    else process.stderr.write(`[inference-worker ${workerId}] ${line}\n`)
  }

  private pipeLogs(id: number, child: ChildProcess): void {
    const log = (wid: number, line: string): void => this.log(wid, line)
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue
      let pending = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        pending += chunk
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) if (line.length > 0) log(id, line)
      })
      stream.on('end', () => {
        if (pending.length > 0) log(id, pending)
        pending = ''
      })
    }
  }

  private onMessage(slot: Slot, raw: unknown): void {
    const msg = parseFromWorker(raw)
    if (!msg) {
      this.log(slot.info.id, 'sent a malformed message (ignored)')
      return
    }
    switch (msg.kind) {
      case 'ready': {
        if (slot.startTimer) clearTimeout(slot.startTimer)
        slot.startTimer = null
        slot.everReady = true
        slot.info.state = 'ready'
        slot.info.provider = msg.provider
        slot.info.pid = msg.pid
        this.startFailures = 0
        this.brokenReason = null
        if (msg.fallbackReason)
          this.log(slot.info.id, `requested ${slot.info.requested}, using ${msg.provider}: ${msg.fallbackReason}`)
        slot.markStarted()
        this.dispatch()
        this.changed()
        return
      }
      case 'fatal':
        slot.exitReason = `failed to start: ${msg.message}`
        return
      case 'result':
      case 'error': {
        const job = slot.job
        // An answer for a job that was already given up on (timeout raced the answer) is stale.
        if (!job || job.id !== msg.id) return
        if (slot.jobTimer) clearTimeout(slot.jobTimer)
        slot.jobTimer = null
        slot.job = null
        slot.info.jobsDone++
        slot.info.state = 'ready'
        if (msg.kind === 'result') job.resolve(msg.result)
        else job.reject(bodyToError(msg.error))
        this.dispatch()
        this.changed()
        return
      }
    }
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.gone) return
    slot.gone = true
    if (slot.jobTimer) clearTimeout(slot.jobTimer)
    if (slot.startTimer) clearTimeout(slot.startTimer)
    slot.jobTimer = slot.startTimer = null
    const closing = this.closing !== null
    const reason = slot.exitReason ?? (signal ? `was killed by ${signal}` : `exited with code ${String(code)}`)
    slot.info.state = closing ? 'stopped' : 'crashed'
    if (!closing) this.counters_.crashed++

    if (!slot.everReady) {
      this.startFailures++
      this.lastStartError = reason
      slot.failStart(new Error(`worker ${slot.info.id} ${reason}`))
    }

    const job = slot.job
    slot.job = null
    if (job) {
      job.failures.push(`worker ${slot.info.id} (pid ${String(slot.info.pid)}) ${reason}`)
      if (closing) {
        job.reject(new ApiError('internal', 'inference pool closed while the job was running'))
      } else if (job.attempts < MAX_ATTEMPTS) {
        // Front of the queue: it already waited its turn once. This may exceed maxQueue by at
        // most the number of workers, which keeps memory bounded.
        this.counters_.retried++
        this.queue.unshift(job)
        this.queuedBytes += job.bytes
      } else {
        this.counters_.failedAfterRetry++
        job.reject(
          new ApiError('internal', `analysis failed on ${job.attempts} workers: ${job.failures.join('; then ')}`)
        )
      }
    }

    if (!closing) {
      if (this.startFailures >= BROKEN_AFTER && !this.slots.some((s) => !s.gone && s.everReady)) {
        this.brokenReason = this.lastStartError
        for (const q of this.takeQueue())
          q.reject(new ApiError('internal', `inference workers cannot start: ${this.brokenReason}`))
      }
      // Back off only when workers die before becoming ready (missing model, bad provider…);
      // a crash of a working worker is replaced at once.
      const delay = this.startFailures === 0 ? 0 : Math.min(30_000, 250 * 2 ** (this.startFailures - 1))
      const t = setTimeout(() => {
        this.replaceTimers.delete(t)
        if (!this.closing) this.spawn(slot.index)
      }, delay)
      this.replaceTimers.add(t)
      this.dispatch()
    }
    this.changed()
  }

  private changed(): void {
    this.opts.onWorkersChanged?.(this.workers())
  }
}
