// How an API error crosses Electron's contextBridge. The bridge copies only an Error's message
// (custom fields such as `code` are dropped, and the message may gain a prefix), so the preload
// encodes the code into the message as "[code] message" and the renderer decodes it back.
import { API_ERROR_CODES, ApiError, type ApiErrorBody, type ApiErrorCode } from './api'

const PATTERN = new RegExp(`\\[(${API_ERROR_CODES.join('|')})\\] ([\\s\\S]*)$`)

export function encodeBridgeMessage(body: ApiErrorBody): string {
  return `[${body.code}] ${body.message}`
}

/**
 * Recovers {code, message} from whatever the renderer caught: an ApiError (browser mode), an
 * Error copied over the bridge ("[code] message", possibly prefixed), or anything else (internal).
 */
export function decodeBridgeError(err: unknown): ApiErrorBody {
  if (err instanceof ApiError) return { code: err.code, message: err.message, details: err.details }
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err)
  const m = PATTERN.exec(message)
  if (m) return { code: m[1] as ApiErrorCode, message: m[2] ?? '' }
  return { code: 'internal', message }
}

/** The renderer's one way to turn a caught value into an ApiError, whichever transport threw it. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  const body = decodeBridgeError(err)
  return new ApiError(body.code, body.message, body.details)
}
