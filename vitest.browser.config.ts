// Browser tests: real Chromium against the real browser-mode server (`npm run test:browser`
// builds first). One worker, long timeouts: each file starts a server and a browser on 2 cores.
import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    alias: { '@shared': resolve(import.meta.dirname, 'src/shared') }
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
    fileParallelism: false,
    // A flaky browser test hides real regressions; fail and look instead of retrying.
    retry: 0
  }
})
