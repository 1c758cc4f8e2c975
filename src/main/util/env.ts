// Environment variables under one naming scheme: VIGIL_DATA_DIR (app data), VIGIL_MODELS_DIR
// (model files), VIGIL_TEST_DATA (the shared read-only test data). The names used before are
// still read, with a one-time warning, so existing setups keep working.

/** new name → the name it replaces */
export const RENAMED_ENV: Readonly<Record<string, string>> = {
  VIGIL_TEST_DATA: 'VIGIL_DATA',
  VIGIL_MODELS_DIR: 'VIGIL_MODELS'
}

const warned = new Set<string>()

/** The variable's value (empty counts as unset); falls back to its old name with a warning. */
export function envVar(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[name]
  if (v) return v
  const old = RENAMED_ENV[name]
  const legacy = old ? env[old] : undefined
  if (!old || !legacy) return undefined
  if (!warned.has(old)) {
    warned.add(old)
    process.emitWarning(`${old} is deprecated; set ${name} instead`, 'DeprecationWarning')
  }
  return legacy
}
