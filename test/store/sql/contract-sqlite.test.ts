// The shared SqlDatabase contract (./contract.ts) on the embedded engine, one SQLite file per file.
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { SqliteDatabase } from '../../../src/main/store/sql/sqlite'
import { tempDir } from '../helpers'
import { sqlContract } from './contract'

let dir: string
let cleanup: () => Promise<void>
beforeAll(async () => {
  ;({ dir, cleanup } = await tempDir('vigil-contract-'))
})
afterAll(() => cleanup())

sqlContract('sqlite', { open: () => SqliteDatabase.open(join(dir, 'vigil.db')) })
