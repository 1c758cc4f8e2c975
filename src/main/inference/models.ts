// Model files: verified against models/manifest.json (sha256) before any session is built, so a
// half-downloaded or swapped file fails loudly at start-up instead of producing wrong matches.
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as ort from 'onnxruntime-node'
import { ApiError } from '../../shared/api'
import type { ExecutionProvider } from '../../shared/types'
import { envVar } from '../util/env'

export type ModelName = 'detect' | 'landmark' | 'feature' | 'liveness' | 'pose' | 'eye'

export interface ManifestModel {
  file: string
  sha256: string
  bytes: number
  required: boolean
}

export interface Manifest {
  models: Partial<Record<ModelName, ManifestModel>> & Record<string, ManifestModel>
}

/** models/ at the repository root (this file is src/main/inference/models.ts). */
export function defaultModelsDir(): string {
  const fromEnv = envVar('VIGIL_MODELS_DIR')
  if (fromEnv) return resolve(fromEnv)
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../models')
}

const FIX_HINT = 'run `npm run models` to fetch and verify them'

export async function readManifest(modelsDir: string): Promise<Manifest> {
  const path = join(modelsDir, 'manifest.json')
  let raw: string
  try {
    raw = await readFile(path, 'utf8')
  } catch {
    throw new ApiError('internal', `model manifest ${path} is missing; ${FIX_HINT}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (err) {
    throw new ApiError('internal', `model manifest ${path} is not valid JSON (${(err as Error).message})`)
  }
  const models = (parsed as { models?: unknown }).models
  if (!models || typeof models !== 'object')
    throw new ApiError('internal', `model manifest ${path} has no "models" section`)
  for (const [name, m] of Object.entries(models as Record<string, unknown>)) {
    const mm = m as Partial<ManifestModel>
    if (typeof mm.file !== 'string' || typeof mm.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(mm.sha256)) {
      throw new ApiError('internal', `model manifest ${path}: entry "${name}" needs "file" and a hex "sha256"`)
    }
  }
  return parsed as Manifest
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
}

/** Hashing ~13 MB costs ~30 ms; a pool starting several workers should not pay it per worker. */
const verified = new Map<string, string>()

/**
 * Checks the named models (default: every model marked required) exist and match their sha256.
 * All problems are collected into ONE error naming each bad file, so a user fixes them in one go.
 * Returns absolute paths by model name.
 */
export async function verifyModels(modelsDir: string, names?: readonly ModelName[]): Promise<Record<string, string>> {
  const manifest = await readManifest(modelsDir)
  const wanted = names ?? (Object.keys(manifest.models).filter((n) => manifest.models[n].required) as ModelName[])
  const paths: Record<string, string> = {}
  const problems: string[] = []
  for (const name of wanted) {
    const m = manifest.models[name]
    if (!m) {
      problems.push(`"${name}" is not listed in the manifest`)
      continue
    }
    const path = join(modelsDir, m.file)
    let key: string
    try {
      const st = await stat(path)
      key = `${path}:${st.size}:${st.mtimeMs}`
    } catch {
      problems.push(`${m.file} (${name}) is missing`)
      continue
    }
    if (verified.get(path) !== key) {
      const got = await sha256File(path)
      if (got !== m.sha256) {
        problems.push(
          `${m.file} (${name}) is corrupt or a different version (sha256 ${got.slice(0, 12)}…, expected ${m.sha256.slice(0, 12)}…)`
        )
        continue
      }
      verified.set(path, key)
    }
    paths[name] = path
  }
  if (problems.length) {
    throw new ApiError('internal', `face models in ${modelsDir} are not usable: ${problems.join('; ')}; ${FIX_HINT}`, {
      problems
    })
  }
  return paths
}

export interface SessionOptions {
  provider?: ExecutionProvider
  /** intra-op threads per session; 1 by default because the worker pool provides the parallelism */
  threads?: number
}

export interface LoadedSession {
  session: ort.InferenceSession
  /** the provider actually in use after any fallback */
  provider: ExecutionProvider
  /** why the requested provider was not used, when it was not */
  fallbackReason: string | null
}

/** Providers an onnxruntime-node build can offer on this platform at all. */
function platformSupports(p: ExecutionProvider): boolean {
  if (p === 'cpu') return true
  if (p === 'dml') return process.platform === 'win32'
  if (p === 'coreml') return process.platform === 'darwin'
  return process.platform === 'linux' || process.platform === 'win32'
}

/**
 * Builds a session on the requested provider, falling back to CPU when it is unavailable (no GPU,
 * CUDA libraries missing, wrong OS). onnxruntime cannot be asked which provider a session got,
 * so the request is made with that provider ALONE: success means it is really in use.
 */
export async function createSession(path: string, opts: SessionOptions = {}): Promise<LoadedSession> {
  const requested = opts.provider ?? 'cpu'
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: Math.max(1, Math.floor(opts.threads ?? 1)),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // onnxruntime's defaults, stated so a change of default cannot slow every run: the arena and
    // the memory pattern let repeated runs of the same input shape reuse their buffers
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3
  }
  let fallbackReason: string | null = null
  if (requested !== 'cpu') {
    if (!platformSupports(requested)) {
      fallbackReason = `${requested} is not available on ${process.platform}`
    } else {
      try {
        const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [requested] })
        return { session, provider: requested, fallbackReason: null }
      } catch (err) {
        fallbackReason = `${requested} could not be initialised (${(err as Error).message.split('\n')[0]})`
      }
    }
  }
  try {
    const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] })
    return { session, provider: 'cpu', fallbackReason }
  } catch (err) {
    throw new ApiError('internal', `could not load model ${path}: ${(err as Error).message}; ${FIX_HINT}`)
  }
}
