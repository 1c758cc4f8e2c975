// The single entry point from any transport (Electron IPC, browser-mode WebSocket) into the engine.
// Both shells accept bytes from a less trusted side, so nothing that arrives here may throw back
// into the transport or crash the process: every outcome becomes an Envelope.
import { ApiError, isApiErrorCode, type ApiErrorBody, type ApiErrorCode, type Envelope } from '../../shared/api'
import { validateRequest } from '../../shared/schemas'
import { redactUrl } from '../log/redact'
import type { VigilBackend } from '../contracts'
import type { Logger } from '../log/logger'

export type DispatchLogger = (message: string, err: unknown) => void

/** Dispatch failures as error lines of the app's logger. */
export const dispatchLogger =
  (logger: Logger): DispatchLogger =>
  (message, err) =>
    logger.error({ err }, message)

/**
 * ApiErrors thrown from another module instance (a bundled copy, a worker rehydrating an error)
 * fail `instanceof`, so the shape is what counts.
 */
export function asApiErrorBody(err: unknown): ApiErrorBody | null {
  if (err instanceof ApiError) return cleanBody(err.toBody())
  if (typeof err !== 'object' || err === null) return null
  const e = err as { name?: unknown; code?: unknown; message?: unknown; details?: unknown }
  if (e.name !== 'ApiError' || !isApiErrorCode(e.code)) return null
  return cleanBody({
    code: e.code,
    message: typeof e.message === 'string' ? e.message : String(e.code),
    details: e.details
  })
}

// `details: undefined` would survive structured clone but not JSON; keep both transports identical.
// Every error message crosses to a client: a camera URL inside one must not carry its password.
function cleanBody(body: ApiErrorBody): ApiErrorBody {
  const message = redactUrl(body.message)
  return body.details === undefined ? { code: body.code, message } : { ...body, message }
}

export function errorEnvelope(code: ApiErrorCode, message: string, details?: unknown): Envelope<never> {
  return { ok: false, error: cleanBody({ code, message: redactUrl(message), details }) }
}

/** Validates, calls the handler, and maps every failure to an envelope. Never throws or rejects. */
export async function dispatch(
  backend: Pick<VigilBackend, 'handlers'>,
  channel: unknown,
  payload: unknown,
  log: DispatchLogger
): Promise<Envelope<unknown>> {
  let checked: ReturnType<typeof validateRequest>
  try {
    checked = validateRequest(channel, payload)
  } catch (err) {
    // A payload with hostile getters or a cyclic structure must not escape as an exception.
    log(`validation crashed for ${safeName(channel)}`, err)
    return errorEnvelope('invalid_request', 'request could not be validated')
  }
  if (!checked.ok) {
    const f = checked.failure
    return errorEnvelope('invalid_request', f.message, f.issues.length > 0 ? { issues: f.issues } : undefined)
  }
  // Indexed by a validated Channel, but the union of handler signatures cannot be called directly.
  const handler = (backend.handlers as Record<string, ((req: unknown) => unknown) | undefined>)[checked.channel]
  if (typeof handler !== 'function') {
    return errorEnvelope('internal', `operation ${checked.channel} is not available`)
  }
  try {
    const value: unknown = await handler(checked.value)
    return { ok: true, value }
  } catch (err) {
    const body = asApiErrorBody(err)
    if (body) return { ok: false, error: body }
    // The stack stays in the log: it can reveal paths and internals to a remote browser client.
    log(`${checked.channel} failed`, err)
    const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'internal error'
    return errorEnvelope('internal', message || 'internal error')
  }
}

function safeName(channel: unknown): string {
  return typeof channel === 'string' ? channel.slice(0, 100) : typeof channel
}
