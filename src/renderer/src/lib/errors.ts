import { ApiError, type ApiErrorCode } from '@shared/api'
import { toApiError as fromBridge } from '@shared/bridge-error'

// Exhaustive by construction: adding a code to ApiErrorCode fails to compile here until it is listed.
const CODES: Record<ApiErrorCode, true> = {
  invalid_request: true,
  not_found: true,
  conflict: true,
  busy: true,
  bad_image: true,
  too_large: true,
  camera_error: true,
  unauthorized: true,
  internal: true
}

export function isApiErrorCode(v: unknown): v is ApiErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(CODES, v)
}

/**
 * Whatever an API call rejected with, as an ApiError. ApiErrors (WebSocket transport) pass through;
 * Errors from the Electron bridge carry the code in the message ("[code] text", decoded by
 * src/shared/bridge-error.ts); plain `{ code, message }` objects are accepted too.
 */
export function toApiError(e: unknown): ApiError {
  if (typeof e === 'object' && e !== null && !(e instanceof Error)) {
    const r = e as Record<string, unknown>
    if (isApiErrorCode(r['code']))
      return new ApiError(r['code'], typeof r['message'] === 'string' ? r['message'] : '', r['details'])
  }
  return fromBridge(e)
}

/** One line for a toast: "Could not save camera: camera URL must be …". */
export function errorText(e: unknown, context?: string): string {
  const err = toApiError(e)
  const msg = err.message || err.code
  return context ? `${context}: ${msg}` : msg
}
