// The engine's Logger implementation: pino, writing readable lines to stderr and JSON lines to a
// size-rotated file in the data dir (the file a user attaches to a bug report), with secrets
// redacted from messages and fields before either sees them.
import { join } from 'node:path'
import { pino, multistream, type DestinationStream, type StreamEntry } from 'pino'
import type { Logger } from './logger'
import { redactFields } from './redact'
import { RotatingFile, type RotatingFileOptions } from './rotating-file'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface CreateLoggerOptions {
  /** directory of the log file (<dataDir>/logs/vigil.log); null: console only */
  dataDir: string | null
  /** default: VIGIL_LOG_LEVEL or 'info' */
  level?: LogLevel
  /** readable lines on stderr (default true) */
  console?: boolean
  /** where the console lines go (default process.stderr) */
  consoleStream?: { write(s: string): unknown }
  file?: RotatingFileOptions
}

export interface AppLogger {
  logger: Logger
  /** absolute path of the log file, or null when logging to the console only */
  file: string | null
  close(): void
}

export const logFilePath = (dataDir: string): string => join(dataDir, 'logs', 'vigil.log')

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const isLevel = (s: string | undefined): s is LogLevel => LEVELS.includes(s as LogLevel)

const LEVEL_NAMES: Record<number, string> = { 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** One pino JSON line as a console line: `12:00:01.234 WARN [store] message {extra fields}`. */
export function consoleLine(json: string): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const { level, time, msg, box, pid: _pid, hostname: _host, ...rest } = rec
  const at = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ''
  const name = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : ''
  const tag = typeof box === 'string' ? ` [${box}]` : ''
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
  return `${at} ${name}${tag} ${typeof msg === 'string' ? msg : ''}${extra}\n`
}

export function createLogger(opts: CreateLoggerOptions): AppLogger {
  const envLevel = process.env.VIGIL_LOG_LEVEL
  const level: LogLevel = opts.level ?? (isLevel(envLevel) ? envLevel : 'info')
  const streams: StreamEntry<LogLevel>[] = []
  let file: RotatingFile | null = null
  if (opts.console !== false) {
    const out = opts.consoleStream ?? process.stderr
    const stream: DestinationStream = { write: (s) => void out.write(consoleLine(s)) }
    streams.push({ level, stream })
  }
  if (opts.dataDir !== null) {
    file = new RotatingFile(logFilePath(opts.dataDir), opts.file)
    const f = file
    streams.push({ level, stream: { write: (s) => f.write(s) } })
  }
  const instance = pino(
    {
      level,
      base: undefined,
      hooks: {
        // every argument (message and fields) passes the redaction before any stream sees it
        logMethod(args, method) {
          method.apply(this, args.map((a) => redactFields(a)) as Parameters<typeof method>)
        }
      }
    },
    multistream(streams)
  )
  return {
    logger: instance,
    file: file?.file ?? null,
    close: () => file?.close()
  }
}
