// Where the worker script lives depends on how the app runs: from TS source (tsx, vitest), from a
// plain tsc build, or from the electron-vite bundle where pool.ts is inlined into out/main/index.js
// and the worker is its own chunk out/main/inference-worker.js.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

export interface WorkerEntry {
  file: string
  /** TypeScript source: the child must load a TS loader first */
  needsTsLoader: boolean
}

const TS_FILE = /\.[cm]?tsx?$/

/**
 * Candidates in order of preference, relative to the directory of the module that holds the pool:
 * the bundle layout first (that is what ships), then compiled JS, then source.
 */
export function workerEntryCandidates(moduleDir: string): string[] {
  return [
    path.join(moduleDir, 'inference-worker.js'),
    path.join(moduleDir, 'inference-worker.mjs'),
    path.join(moduleDir, '..', 'worker-entry.js'),
    path.join(moduleDir, '..', 'worker-entry.ts')
  ]
}

export function resolveWorkerEntry(
  moduleDir: string,
  explicit?: string,
  exists: (p: string) => boolean = existsSync
): WorkerEntry {
  if (explicit) {
    const file = path.resolve(explicit)
    if (!exists(file)) throw new Error(`inference worker entry not found: ${file}`)
    return { file, needsTsLoader: TS_FILE.test(file) }
  }
  const candidates = workerEntryCandidates(moduleDir)
  const file = candidates.find((c) => exists(c))
  if (!file) {
    throw new Error(
      `inference worker entry not found; looked for: ${candidates.join(', ')} (pass workerEntry to InferencePool.create)`
    )
  }
  return { file, needsTsLoader: TS_FILE.test(file) }
}

/**
 * execArgv that lets a forked Node run TS source. The loader is resolved to an absolute URL so
 * the child finds it whatever its cwd is.
 */
export function tsLoaderExecArgv(fromModuleUrl: string): string[] {
  const require = createRequire(fromModuleUrl)
  let loader: string
  try {
    loader = require.resolve('tsx')
  } catch {
    throw new Error(
      'the inference worker entry is TypeScript but the "tsx" loader is not installed; build the app or pass a .js workerEntry'
    )
  }
  return ['--import', pathToFileURL(loader).href]
}
