// Where tests find the shared, read-only data set (never copied into the repo) and the models.
// DATA_DIR = $VIGIL_TEST_DATA or ../shared/data next to the repository.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { envVar } from '../../src/main/util/env'
import { REPO_ROOT } from '../../src/main/util/paths'

export { REPO_ROOT }

const testDataEnv = envVar('VIGIL_TEST_DATA')
export const DATA_DIR = testDataEnv ? resolve(testDataEnv) : resolve(REPO_ROOT, '../shared/data')

const modelsEnv = envVar('VIGIL_MODELS_DIR')
export const MODELS_DIR = modelsEnv ? resolve(modelsEnv) : join(REPO_ROOT, 'models')

/** True when the data dir (or the given sub-path of it) exists. */
export function hasData(sub = ''): boolean {
  return existsSync(join(DATA_DIR, sub))
}

/** Path below the data dir. */
export function dataPath(...parts: string[]): string {
  return join(DATA_DIR, ...parts)
}

/** True when the three required ONNX models are on disk (run `npm run models` otherwise). */
export function hasModels(): boolean {
  return ['fr_detect.onnx', 'fr_landmark.onnx', 'fr_feature.onnx'].every((f) => existsSync(join(MODELS_DIR, f)))
}

/**
 * For describe.skipIf: returns true (skip) and prints why when the data is missing, so a skipped
 * suite never passes silently.
 */
export function skipWithoutData(sub: string, suite: string): boolean {
  if (hasData(sub)) return false
  if (process.env.VIGIL_REQUIRE_ALL === '1')
    throw new Error(`${suite}: test data ${join(DATA_DIR, sub)} not found and VIGIL_REQUIRE_ALL=1`)
  console.warn(
    `[skip] ${suite}: test data ${join(DATA_DIR, sub)} not found (set VIGIL_TEST_DATA to the shared data folder)`
  )
  return true
}

export function skipWithoutModels(suite: string): boolean {
  if (hasModels()) return false
  if (process.env.VIGIL_REQUIRE_ALL === '1')
    throw new Error(`${suite}: models missing in ${MODELS_DIR} and VIGIL_REQUIRE_ALL=1`)
  console.warn(`[skip] ${suite}: models missing in ${MODELS_DIR}; run \`npm run models\``)
  return true
}

/**
 * For describe.skipIf with several preconditions: prints every unmet one and returns true (skip).
 * With VIGIL_REQUIRE_ALL=1 (CI, see .ci/run) an unmet precondition throws instead, so CI can never
 * go green by skipping.
 */
export function skipUnless(suite: string, conditions: readonly (readonly [boolean, string])[]): boolean {
  const unmet = conditions.filter(([ok]) => !ok).map(([, why]) => why)
  if (unmet.length === 0) return false
  const msg = `[skip] ${suite}: ${unmet.join('; ')}`
  if (process.env.VIGIL_REQUIRE_ALL === '1') throw new Error(`${msg} (VIGIL_REQUIRE_ALL=1: CI must not skip)`)
  console.warn(msg)
  return true
}
