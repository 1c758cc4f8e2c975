// Pure parts of the PostgreSQL engine: placeholder numbering and value conversion (no server).
import { describe, expect, it } from 'vitest'
import { numberPlaceholders } from '../../../src/main/store/sql/placeholders'
import { parseBytea, parseInt8, retryDelayMs, toPgParam } from '../../../src/main/store/sql/postgres'

describe('numberPlaceholders', () => {
  const num = (sql: string): string => numberPlaceholders(sql).text

  it('numbers each ? in order and counts them', () => {
    expect(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toEqual({
      text: 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)',
      count: 3
    })
    expect(numberPlaceholders('SELECT 1')).toEqual({ text: 'SELECT 1', count: 0 })
    expect(num('VALUES (?,?)')).toBe('VALUES ($1,$2)')
  })

  it('leaves ? in single-quoted strings, with doubled quotes inside', () => {
    expect(num("SELECT 'a?b', ?")).toBe("SELECT 'a?b', $1")
    expect(num("SELECT 'it''s ?', ?")).toBe("SELECT 'it''s ?', $1")
    expect(num("SELECT '', ?")).toBe("SELECT '', $1")
  })

  it("honours backslash escapes only in E'…' strings", () => {
    expect(num("SELECT E'\\' ?', ?")).toBe("SELECT E'\\' ?', $1")
    expect(num("SELECT e'x\\\\', ?")).toBe("SELECT e'x\\\\', $1")
    // in a standard string a backslash is an ordinary character: the quote after it closes
    expect(num("SELECT 'x\\', ?")).toBe("SELECT 'x\\', $1")
    // SOME'…' is an identifier followed by a string, not an escape string
    expect(num("SELECT name'\\', ?")).toBe("SELECT name'\\', $1")
  })

  it('leaves ? in double-quoted identifiers', () => {
    expect(num('SELECT a AS "ok?", ? AS "say ""why?"""')).toBe('SELECT a AS "ok?", $1 AS "say ""why?"""')
  })

  it('leaves ? in line and (nested) block comments', () => {
    expect(num('SELECT ? -- is this ?\n, ?')).toBe('SELECT $1 -- is this ?\n, $2')
    expect(num('SELECT ? -- trailing ?')).toBe('SELECT $1 -- trailing ?')
    expect(num('SELECT /* a? /* b? */ c? */ ?')).toBe('SELECT /* a? /* b? */ c? */ $1')
  })

  it('leaves ? in dollar-quoted bodies and does not take $1 or a$b for a quote', () => {
    expect(num('DO $$ BEGIN PERFORM 1 WHERE 1 = 1 OR ?; END $$; SELECT ?')).toBe(
      'DO $$ BEGIN PERFORM 1 WHERE 1 = 1 OR ?; END $$; SELECT $1'
    )
    expect(num('SELECT $fn$ ? $x$ ? $fn$, ?')).toBe('SELECT $fn$ ? $x$ ? $fn$, $1')
    expect(num('SELECT a$b, ?')).toBe('SELECT a$b, $1')
  })

  it('an unterminated string or comment swallows the rest (the server reports the syntax error)', () => {
    expect(numberPlaceholders("SELECT 'open ?")).toEqual({ text: "SELECT 'open ?", count: 0 })
    expect(numberPlaceholders('SELECT /* open ?')).toEqual({ text: 'SELECT /* open ?', count: 0 })
  })

  it('does not treat :: casts or operators next to ? specially', () => {
    expect(num('SELECT ?::bigint, ?::text||?')).toBe('SELECT $1::bigint, $2::text||$3')
  })
})

describe('value conversion', () => {
  it('parseInt8 gives numbers inside the safe range and exact bigints beyond', () => {
    expect(parseInt8('0')).toBe(0)
    expect(parseInt8('-42')).toBe(-42)
    expect(parseInt8('1750000000000')).toBe(1_750_000_000_000)
    expect(parseInt8(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER)
    expect(parseInt8('9007199254740993')).toBe(9007199254740993n)
    expect(parseInt8('-9223372036854775808')).toBe(-9223372036854775808n)
  })

  it('toPgParam sends booleans as 1/0 and bigints as exact text', () => {
    expect(toPgParam(true)).toBe(1)
    expect(toPgParam(false)).toBe(0)
    expect(toPgParam(2n ** 63n - 1n)).toBe('9223372036854775807')
    const u8 = new Uint8Array([1, 2])
    expect(toPgParam(u8)).toBe(u8)
    expect(toPgParam(null)).toBeNull()
  })

  it('parseBytea returns a Uint8Array that owns its buffer from offset 0', () => {
    const b = parseBytea('\\x00ff10')
    expect(Array.from(b)).toEqual([0, 255, 16])
    expect(b.byteOffset).toBe(0)
    expect(b.buffer.byteLength).toBe(3)
    expect(parseBytea('\\x').byteLength).toBe(0)
    // the legacy escape format still parses
    expect(Array.from(parseBytea('ab\\000'))).toEqual([97, 98, 0])
  })

  it('retryDelayMs grows with the attempt, is capped and jittered', () => {
    expect(retryDelayMs(1, () => 0)).toBe(3)
    expect(retryDelayMs(1, () => 1)).toBe(5)
    expect(retryDelayMs(4, () => 1)).toBe(40)
    expect(retryDelayMs(30, () => 1)).toBe(200)
    expect(retryDelayMs(30, () => 0)).toBe(100)
  })
})
