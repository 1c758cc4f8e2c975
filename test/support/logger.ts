import type { LogFields, LogFn, Logger } from '../../src/main/log/logger'

export type Level = 'debug' | 'info' | 'warn' | 'error'

export interface RecordingLogger extends Logger {
  warns: string[]
  errors: string[]
  /** every line at every level, as "<level> <msg>" */
  lines: string[]
}

/** Logger that records instead of printing, so tests can assert that problems were reported. */
export function recordingLogger(onLine?: (level: Level, msg: string) => void): RecordingLogger {
  const warns: string[] = []
  const errors: string[] = []
  const lines: string[] = []
  const fn =
    (level: Level): LogFn =>
    (a: string | LogFields, b?: string) => {
      const msg = typeof a === 'string' ? a : (b ?? '')
      lines.push(`${level} ${msg}`)
      if (level === 'warn') warns.push(msg)
      if (level === 'error') errors.push(msg)
      onLine?.(level, msg)
    }
  const rec: RecordingLogger = {
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    child: () => rec,
    warns,
    errors,
    lines
  }
  return rec
}
