// One webhook POST. The body is the outbox row's payload as stored, so every retry sends the same
// bytes under the same idempotency key; only the timestamp (and so the signature) is per attempt.
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './payload'

export interface SendOutcome {
  ok: boolean
  error: string | null
  /** a failure that retrying cannot fix (the receiver refused the request itself) */
  permanent: boolean
}

/** 4xx means "this request is wrong" except timeouts and rate limits, which may pass later. */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429
}

export async function postWebhook(
  target: { url: string; secret: string; timeoutMs: number },
  deliveryId: string,
  body: string,
  now: () => number = Date.now
): Promise<SendOutcome> {
  const timestamp = String(Math.floor(now() / 1000))
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Vigil-Alerts/1',
    [IDEMPOTENCY_HEADER]: deliveryId,
    [TIMESTAMP_HEADER]: timestamp
  }
  if (target.secret) headers[SIGNATURE_HEADER] = sign(target.secret, timestamp, body)
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(target.timeoutMs)
    })
    // drain so the connection is reused and not left half-read
    await res.arrayBuffer().catch(() => undefined)
    if (res.ok) return { ok: true, error: null, permanent: false }
    return { ok: false, error: `HTTP ${res.status} ${res.statusText}`.trim(), permanent: isPermanentStatus(res.status) }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    const msg =
      e.name === 'TimeoutError'
        ? `no answer within ${target.timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err))
    return { ok: false, error: msg, permanent: false }
  }
}
