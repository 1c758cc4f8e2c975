// Credential redaction for every string that leaves the engine: logs, pushes, status reasons, API
// responses and errors. In the log box because the logger applies it to every line; cameras
// re-export it for their URL handling.

const SCHEME_SEP = /[a-z][a-z0-9+.-]*:\/\//gi

/**
 * Removes every credential from a URL or from free text containing URLs (ffmpeg stderr, error
 * messages). For each "scheme://":
 *  - user and password are blanked together: everything between "://" and the LAST "@" before
 *    the end of the line (or the next URL) becomes "***". Passwords contain unencoded '#', '?',
 *    '/', '@' and spaces in practice, which no URL parser splits the way the camera does, so the
 *    rule does not depend on parsing and over-redacts rather than leaks;
 *  - every query value becomes "***" (not a list of key names: cameras use authkey, psw,
 *    loginpass, session, … and any of them may be a credential);
 *  - a fragment becomes "#***".
 * Idempotent; text without "://" is returned unchanged.
 */
export function redactUrl(text: string): string {
  if (!text.includes('://')) return text
  return text
    .split(/(\r?\n)/)
    .map((line) => redactLine(line))
    .join('')
}

function redactLine(line: string): string {
  const starts: number[] = []
  for (const m of line.matchAll(SCHEME_SEP)) starts.push(m.index + m[0].length)
  if (starts.length === 0) return line
  let out = line.slice(0, starts[0])
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i]
    const nextScheme = i + 1 < starts.length ? schemeStart(line, starts[i + 1]) : line.length
    out += redactAfterScheme(line.slice(from, nextScheme))
    if (i + 1 < starts.length) out += line.slice(nextScheme, starts[i + 1])
  }
  return out
}

/** Index where the scheme ending at `sepEnd` ("…rtsp://") begins. */
function schemeStart(line: string, sepEnd: number): number {
  let i = sepEnd - 3
  while (i > 0 && /[a-z0-9+.-]/i.test(line[i - 1] ?? '')) i--
  return i
}

function redactAfterScheme(rest: string): string {
  let body = rest
  const at = body.lastIndexOf('@')
  if (at >= 0) body = `***${body.slice(at)}`
  // the URL proper ends at whitespace or a quote; what follows is message text
  const end = body.search(/[\s'"<>]/)
  const url = end < 0 ? body : body.slice(0, end)
  const tail = end < 0 ? '' : body.slice(end)
  return redactQuery(url) + tail
}

function redactQuery(url: string): string {
  const hash = url.indexOf('#')
  let main = hash >= 0 ? url.slice(0, hash) : url
  const frag = hash >= 0 ? '#***' : ''
  const q = main.indexOf('?')
  if (q >= 0) {
    const query = main
      .slice(q + 1)
      .split(/([&;])/)
      .map((part) => {
        if (part === '&' || part === ';' || part === '') return part
        const eq = part.indexOf('=')
        // a bare value (…?s3cr3t) is as secret as a named one
        return eq < 0 ? '***' : `${part.slice(0, eq)}=***`
      })
      .join('')
    main = `${main.slice(0, q)}?${query}`
  }
  return main + frag
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
