// PLACEHOLDER on the storage branch only: the PostgreSQL engine is written on the postgres branch
// and replaces this file when merged (it must export openPostgres as declared in ./open).
import type { Logger } from '../../log/logger'
import type { SqlDatabase } from './database'

export async function openPostgres(url: string, opts: { logger: Logger }): Promise<SqlDatabase> {
  void url
  void opts
  throw new Error('this build has no PostgreSQL engine yet')
}
