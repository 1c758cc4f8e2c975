// Helpers shared by the command-line tools (eval, bench, watch): locating the repo and the test
// data, listing folder-per-person image sets, reading small CSV files, and failing cleanly.
import { existsSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { ExecutionProvider } from '../../shared/types'
import { REPO_ROOT } from '../util/paths'
import { envVar } from '../util/env'

export { REPO_ROOT }

/** Shared read-only test data: $VIGIL_TEST_DATA, else ../shared/data next to the repository. */
export function dataDir(): string {
  const fromEnv = envVar('VIGIL_TEST_DATA')
  return fromEnv ? resolve(fromEnv) : resolve(REPO_ROOT, '../shared/data')
}

export function hasDataDir(sub = ''): boolean {
  return existsSync(join(dataDir(), sub))
}

export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.bmp',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif'
])

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase())
}

export interface PersonFolder {
  person: string
  /** absolute paths, sorted */
  files: string[]
}

/** Error for the user of a CLI: printed without a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * node:util parseArgs for every CLI, with --no-<flag> and positionals allowed; its errors (unknown
 * option, missing value) become UsageErrors carrying the usage text. --help prints it and exits.
 */
export type CliValues = Record<string, string | boolean | (string | boolean)[] | undefined>

export function parseCli(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string
): { values: CliValues; positionals: string[] } {
  let parsed: { values: CliValues; positionals: string[] }
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      allowNegative: true
    })
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${usage}`)
  }
  if (parsed.values.help === true) {
    console.log(usage)
    process.exit(0)
  }
  return parsed
}

/** The string value of an option, if given once. */
export const str = (v: CliValues[string]): string | undefined => (typeof v === 'string' ? v : undefined)

/** A positive integer option, or the usage error naming it. */
export function positiveInt(name: string, v: string | undefined, usage: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} needs a positive integer\n${usage}`)
  return n
}

const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'dml', 'coreml']

export function providerArg(v: string | undefined, usage: string): ExecutionProvider {
  if (v === undefined) return 'cpu'
  if (!(PROVIDERS as readonly string[]).includes(v)) throw new UsageError(`unknown provider ${v}\n${usage}`)
  return v as ExecutionProvider
}

/** Visible entries of a directory of the given kind, following symlinks (datasets are often linked). */
async function listEntries(dir: string, kind: 'dir' | 'file'): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue
    let isDir = e.isDirectory()
    let isFile = e.isFile()
    if (e.isSymbolicLink()) {
      const st = await stat(join(dir, e.name)).catch(() => null)
      isDir = !!st?.isDirectory()
      isFile = !!st?.isFile()
    }
    if (kind === 'dir' ? isDir : isFile) out.push(e.name)
  }
  return out
}

/**
 * Lists `dir/<person>/<images>`; hidden entries and non-image files are ignored, people without
 * images are left out. A missing directory or one without any person folder is a UsageError.
 */
export async function listPersonFolders(dir: string): Promise<PersonFolder[]> {
  const root = resolve(dir)
  const st = await stat(root).catch(() => null)
  if (!st) throw new UsageError(`${root} does not exist`)
  if (!st.isDirectory())
    throw new UsageError(`${root} is not a directory (expected one sub-folder of images per person)`)
  const people: PersonFolder[] = []
  for (const name of (await listEntries(root, 'dir')).sort((a, b) => a.localeCompare(b))) {
    const files = (await listEntries(join(root, name), 'file'))
      .filter(isImageFile)
      .map((f) => join(root, name, f))
      .sort()
    if (files.length) people.push({ person: name, files })
  }
  if (people.length === 0) throw new UsageError(`${root} has no person sub-folders with images in them`)
  return people
}

/**
 * Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Returns rows of fields; blank
 * lines are dropped. Throws on an unterminated quote, naming the line.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let quoteLine = 0
  const src = text.replace(/^\uFEFF/, '')
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else {
        if (ch === '\n') line++
        field += ch
      }
      continue
    }
    if (ch === '"' && field === '') {
      quoted = true
      quoteLine = line
    } else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i++
      row.push(field)
      if (row.some((f) => f.trim() !== '')) rows.push(row)
      row = []
      field = ''
      line++
    } else field += ch
  }
  if (quoted) throw new UsageError(`CSV: unterminated quoted field starting on line ${quoteLine}`)
  row.push(field)
  if (row.some((f) => f.trim() !== '')) rows.push(row)
  return rows
}

/** Runs a CLI main: UsageErrors and ApiErrors print one line and exit 2/1, anything else with its stack. */
export function runCli(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`)
      process.exit(2)
    }
    if (err instanceof Error && err.name === 'ApiError') {
      console.error(`error: ${err.message}`)
      process.exit(1)
    }
    console.error(err)
    process.exit(1)
  })
}

export const round = (v: number, digits = 4): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v)
