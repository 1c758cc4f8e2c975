// Entry of one inference worker process (forked by InferencePool). Built by electron-vite as
// out/main/inference-worker.js; run from source through the tsx loader in dev and tests.
import sharp from 'sharp'
import { FacePipeline } from './pipeline'
import { runWorkerHost } from './pool/worker-host'

runWorkerHost((config) => {
  // libvips sizes its thread pool to all cores in every process; with one worker per core that
  // oversubscribes the CPU the pool has already divided between workers.
  sharp.concurrency(config.threads)
  // Every job is a new image: libvips' operation cache never hits and only costs a lookup and
  // memory (measured ~0.1–0.2 ms per decode of a 250×250 JPEG).
  sharp.cache(false)
  return FacePipeline.create({
    modelsDir: config.modelsDir,
    provider: config.provider,
    threads: config.threads,
    workerId: config.workerId
  })
})
