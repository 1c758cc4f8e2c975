// Entry of one inference worker process (forked by InferencePool). Built by electron-vite as
// out/main/inference-worker.js; run from source through the tsx loader in dev and tests.
import { FacePipeline } from './pipeline'
import { runWorkerHost } from './pool/worker-host'

runWorkerHost((config) =>
  FacePipeline.create({
    modelsDir: config.modelsDir,
    provider: config.provider,
    threads: config.threads,
    workerId: config.workerId
  })
)
