// The same alerts repository checks on a real PostgreSQL server started for this file: the SQL of
// the alerts box is portable (placeholders, upserts, BIGINT times, leases, purge).
import { afterAll, describe } from 'vitest'
import { alertsMigrations } from '../../src/main/alerts/migrations'
import { openDatabase } from '../../src/main/store/sql/open'
import { skipWithoutPostgres, startPostgres, type PgServer } from '../support/postgres'
import { repositorySuite } from './repository-suite'

const skip = skipWithoutPostgres('alerts repository on PostgreSQL')
let server: PgServer | null = null

describe.skipIf(skip)('PostgreSQL', () => {
  repositorySuite('PostgreSQL', async () => {
    server = await startPostgres()
    return openDatabase({ url: server.url, dataDir: '/nonexistent', migrations: alertsMigrations })
  })
})
afterAll(async () => {
  await server?.stop()
})
