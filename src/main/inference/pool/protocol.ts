// Messages between the pool (parent) and an inference worker (child process, IPC channel with
// serialization 'advanced', so typed arrays cross as typed arrays instead of JSON number lists).
import { ApiError, isApiErrorCode, type ApiErrorCode } from '../../../shared/api'
import type { ExecutionProvider } from '../../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, RgbImage } from '../../contracts'

/** What a worker needs to build its pipeline; sent once, as the first message. */
export interface WorkerConfig {
  workerId: number
  modelsDir?: string
  provider: ExecutionProvider
  threads: number
  /** free-form settings for custom worker entries (tests use it to pick a stand-in analyzer) */
  extra?: Record<string, string | number | boolean>
}

export type JobInput = { kind: 'encoded'; bytes: Uint8Array } | { kind: 'raw'; image: RgbImage }

export type ToWorker =
  | { kind: 'init'; config: WorkerConfig }
  | { kind: 'job'; id: number; input: JobInput; opts?: AnalyzeOptions }
  | { kind: 'close' }

export interface ErrorBody {
  code: ApiErrorCode
  message: string
}

export type FromWorker =
  | { kind: 'ready'; provider: ExecutionProvider; pid: number; fallbackReason?: string | null }
  | { kind: 'fatal'; message: string }
  | { kind: 'result'; id: number; result: AnalyzeResult }
  | { kind: 'error'; id: number; error: ErrorBody }

const PROVIDERS: ReadonlySet<string> = new Set<ExecutionProvider>(['cuda', 'dml', 'coreml', 'cpu'])

/** ApiErrors keep their code across the process boundary; anything else becomes 'internal'. */
export function errorToBody(err: unknown): ErrorBody {
  if (err instanceof ApiError) return { code: err.code, message: err.message }
  if (err instanceof Error) return { code: 'internal', message: err.message || err.name }
  return { code: 'internal', message: String(err) }
}

export function bodyToError(body: ErrorBody): ApiError {
  return new ApiError(isApiErrorCode(body.code) ? body.code : 'internal', body.message)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

/**
 * A worker is separate code that can be replaced by a custom entry; checking the shape here
 * turns a malformed message into a clear error instead of a TypeError deep in the pool.
 */
export function parseFromWorker(m: unknown): FromWorker | null {
  if (!isRecord(m) || typeof m.kind !== 'string') return null
  switch (m.kind) {
    case 'ready':
      return typeof m.provider === 'string' && PROVIDERS.has(m.provider) && typeof m.pid === 'number'
        ? {
            kind: 'ready',
            provider: m.provider as ExecutionProvider,
            pid: m.pid,
            fallbackReason: typeof m.fallbackReason === 'string' ? m.fallbackReason : null
          }
        : null
    case 'fatal':
      return { kind: 'fatal', message: typeof m.message === 'string' ? m.message : 'unknown startup failure' }
    case 'result':
      return typeof m.id === 'number' && isRecord(m.result) && Array.isArray(m.result.faces)
        ? { kind: 'result', id: m.id, result: m.result as unknown as AnalyzeResult }
        : null
    case 'error':
      return typeof m.id === 'number' && isRecord(m.error) && typeof m.error.message === 'string'
        ? { kind: 'error', id: m.id, error: { code: String(m.error.code) as ApiErrorCode, message: m.error.message } }
        : null
    default:
      return null
  }
}

export function parseToWorker(m: unknown): ToWorker | null {
  if (!isRecord(m) || typeof m.kind !== 'string') return null
  if (m.kind === 'close') return { kind: 'close' }
  if (m.kind === 'init' && isRecord(m.config) && typeof m.config.workerId === 'number') {
    return { kind: 'init', config: m.config as unknown as WorkerConfig }
  }
  if (m.kind === 'job' && typeof m.id === 'number' && isRecord(m.input)) {
    return m as unknown as ToWorker
  }
  return null
}
