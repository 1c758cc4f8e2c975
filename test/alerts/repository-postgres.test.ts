// The alerts repository suite (repository-suite.ts) on a real PostgreSQL started for this file:
// the outbox state machine, first-wins acknowledgement and the attempt log behave as on SQLite.
import { afterAll, beforeAll, describe } from 'vitest'
import { alertsMigrations } from '../../src/main/alerts/migrations'
import { openDatabase } from '../../src/main/store/sql/open'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'
import { repositorySuite } from './repository-suite'

const skip = skipWithoutPostgres('alerts repository on PostgreSQL')

let server: PgServer | undefined
beforeAll(async () => {
  if (!skip) server = await startPostgres()
})
afterAll(async () => {
  await server?.stop()
})

describe.skipIf(skip)('on PostgreSQL', () => {
  repositorySuite('PostgreSQL', () =>
    openDatabase({ url: server!.url, dataDir: '/nonexistent', migrations: alertsMigrations })
  )
})
