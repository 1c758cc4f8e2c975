// The alerts repository on a real SQLite file: the outbox state machine, first-wins
// acknowledgement, the attempt log (suite in repository-suite.ts).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { alertsMigrations } from '../../src/main/alerts/migrations'
import { openDatabase } from '../../src/main/store/sql/open'
import { repositorySuite } from './repository-suite'

let dir = ''
repositorySuite('SQLite', async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-alerts-repo-'))
  return openDatabase({ dataDir: dir, migrations: alertsMigrations })
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})
