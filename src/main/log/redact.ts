// Keeping credentials out of every log line and UI string. Lives in the log box because the logger
// applies it to every line; cameras re-export it for their URL handling.

const SECRET_PARAMS = /^(pass(word)?|pwd|passwd|token|access_token|auth|key|api_?key|secret|sig|signature)$/i
// scheme://userinfo@  — userinfo runs to the LAST '@' before the path, because people type
// unencoded '@' in camera passwords (rtsp://admin:p@ss@10.0.0.5/…)
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/gi

/**
 * rtsp://user:pass@host/x → rtsp://user:***@host/x; secret-looking query parameters
 * (password=, token=, …) → ***. Safe on arbitrary text (ffmpeg stderr lines): every URL
 * inside is redacted. Idempotent.
 */
export function redactUrl(text: string): string {
  let out = text.replace(USERINFO, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':')
    // over HTTP a lone userinfo is usually an access token (https://TOKEN@host), not a user name
    if (colon < 0) return /^https?:\/\//i.test(scheme) ? `${scheme}***@` : `${scheme}${userinfo}@`
    return `${scheme}${userinfo.slice(0, colon)}:***@`
  })
  out = out.replace(/([?&;])([^=&#\s'"]+)=([^&#\s'"]*)/g, (m, sep: string, k: string) =>
    SECRET_PARAMS.test(k) ? `${sep}${k}=***` : m
  )
  return out
}

/** field names whose whole value is a secret, wherever they appear in a log line's fields */
export const SECRET_KEYS = /^(pass(word)?|pwd|passwd|token|access_token|secret|api_?key|authorization|cookie)$/i

/**
 * A log line's fields with secrets hidden: secret-named keys become '[redacted]', every string
 * elsewhere goes through redactUrl. Returns a copy; cycles and depth beyond 6 are cut.
 */
export function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrl(value)
  if (value === null || typeof value !== 'object' || depth > 6) return value
  if (value instanceof Error) {
    return { type: value.name, message: redactUrl(value.message), stack: value.stack && redactUrl(value.stack) }
  }
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redactFields(v, depth + 1)
  return out
}
