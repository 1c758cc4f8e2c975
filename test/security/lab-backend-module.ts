// Loaded by src/main/server/main.ts through VIGIL_BACKEND_MODULE: the real entry point with the
// real camera box, in its own process, so load tests measure the server and not the test runner.
import type { BackendOptions, VigilBackend } from '../../src/main/contracts'
import { cameraBackend } from './support'

export async function createBackend(opts: BackendOptions): Promise<VigilBackend> {
  return (await cameraBackend(opts.dataDir, { exposed: opts.exposed })).backend
}
