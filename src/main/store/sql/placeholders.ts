// `?` placeholders of the SQL seam (database.ts). PostgreSQL needs them numbered ($1, $2 …); the
// embedded engine can use the count to refuse a call whose parameter count does not match (its
// binding would otherwise bind NULL for the missing ones). Pure: no driver is loaded from here.

/**
 * Numbers the `?` placeholders of a query for PostgreSQL. Skips single-quoted strings (with ''
 * and, for E'…', backslash escapes), double-quoted identifiers, dollar-quoted bodies ($$…$$,
 * $tag$…$tag$), -- line comments and (nested) block comments, so a literal question mark stays
 * what it is.
 */
export function numberPlaceholders(sql: string): { text: string; count: number } {
  let out = ''
  let count = 0
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i]
    if (c === '?') {
      out += `$${++count}`
      i++
    } else if (c === "'") {
      const escapes = isEscapeStringPrefix(sql, i)
      const end = endOfQuoted(sql, i, "'", escapes)
      out += sql.slice(i, end)
      i = end
    } else if (c === '"') {
      const end = endOfQuoted(sql, i, '"', false)
      out += sql.slice(i, end)
      i = end
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i)
      const end = nl < 0 ? n : nl
      out += sql.slice(i, end)
      i = end
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = endOfBlockComment(sql, i)
      out += sql.slice(i, end)
      i = end
    } else if (c === '$') {
      const tag = dollarTagAt(sql, i)
      if (tag === null) {
        out += c
        i++
      } else {
        const close = sql.indexOf(tag, i + tag.length)
        const end = close < 0 ? n : close + tag.length
        out += sql.slice(i, end)
        i = end
      }
    } else {
      out += c
      i++
    }
  }
  return { text: out, count }
}

/** True when the quote at i opens an E'…' string (backslash escapes), not a plain one. */
function isEscapeStringPrefix(sql: string, i: number): boolean {
  const p = sql[i - 1]
  if (p !== 'E' && p !== 'e') return false
  // the E must start a token: `SOME'…'` is not an escape string
  const pp = sql[i - 2]
  return pp === undefined || !/[A-Za-z0-9_$]/.test(pp)
}

/** Index just past the closing quote (doubled quotes are escapes); the end of sql if unclosed. */
function endOfQuoted(sql: string, start: number, q: string, backslashEscapes: boolean): number {
  let i = start + 1
  while (i < sql.length) {
    const c = sql[i]
    if (backslashEscapes && c === '\\') {
      i += 2
    } else if (c === q) {
      if (sql[i + 1] === q) i += 2
      else return i + 1
    } else {
      i++
    }
  }
  return sql.length
}

function endOfBlockComment(sql: string, start: number): number {
  let depth = 0
  let i = start
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++
      i += 2
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--
      i += 2
      if (depth === 0) return i
    } else {
      i++
    }
  }
  return sql.length
}

/** The dollar-quote tag ($$ or $name$) starting at i, or null when the $ is something else ($1). */
function dollarTagAt(sql: string, i: number): string | null {
  // a $ inside an identifier (a$b) does not open a quote
  if (i > 0 && /[A-Za-z0-9_]/.test(sql[i - 1])) return null
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66))
  return m ? m[0] : null
}
