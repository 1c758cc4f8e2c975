// Loaded by src/main/server/main.ts through VIGIL_BACKEND_MODULE in shell tests: the real entry
// point, without the engine.
import type { BackendOptions, VigilBackend } from '../../src/main/contracts'
import { fakeBackend } from './fake-backend'

export async function createBackend(opts: BackendOptions): Promise<VigilBackend> {
  const b = fakeBackend({
    'system.info': async () => ({ version: 'fake', mode: opts.mode, workers: [], queueDepth: 0, logFile: null })
  })
  const close = b.close
  b.close = async () => {
    console.log('fake backend closed')
    await close()
  }
  return b
}
