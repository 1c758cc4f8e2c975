// The one logging interface of the engine. Every box receives a Logger from createBackend (or from
// its CLI) instead of reaching for console; the implementation behind it (structured, levelled,
// written to the console and a rotating file, secrets redacted) lives beside this file.
// The shape is the subset of pino's that the engine uses, so a pino instance satisfies it as is.

/** Fields attached to one line; values must be JSON-serialisable. */
export type LogFields = Record<string, unknown>

export interface LogFn {
  (msg: string): void
  (fields: LogFields, msg: string): void
}

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  /** a logger whose lines all carry these fields (for example { box: 'store' }) */
  child(bindings: LogFields): Logger
}

const noop: LogFn = () => {}

/** Drops everything: for tests and library use that wants silence. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger
}
