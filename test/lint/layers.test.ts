// The layering rules live in eslint.config.js (LAYERS). These cases lint a one-line import as if it
// were written in a real file of each layer, through ESLint's own API and the real config, so a
// config edit that silently stops catching a forbidden import fails here.
import { resolve } from 'node:path'
import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
let eslint: ESLint

// The first lint starts TypeScript's project service over the whole tree: seconds alone, minutes
// on a loaded machine, so it happens once here with a generous timeout.
beforeAll(async () => {
  eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' })
  await eslint.lintText('export {}\n', { filePath: resolve(root, 'src/shared/types.ts') })
}, 600_000)

async function importErrors(file: string, spec: string): Promise<string[]> {
  const code = `import * as x from '${spec}'\nexport const y = x\n`
  const [result] = await eslint.lintText(code, { filePath: resolve(root, file) })
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
}

describe('layering lint rules', () => {
  it.each([
    ['src/shared/types.ts', 'node:fs', /src\/shared is the contract/],
    ['src/shared/types.ts', 'electron', /src\/shared is the contract/],
    ['src/shared/types.ts', '../main/contracts', /src\/shared is the contract/],
    ['src/renderer/src/lib/format.ts', '../../../main/contracts', /only through src\/shared/],
    ['src/renderer/src/lib/format.ts', 'node:path', /no Node built-ins/],
    ['src/preload/bridge.ts', '../main/contracts', /only through src\/shared/],
    ['src/main/cameras/service.ts', 'electron', /Only src\/main\/electron/],
    ['src/main/store/db.ts', '../live/processor', /src\/main\/store may import only/],
    ['src/main/gallery/gallery.ts', '../review/queue', /src\/main\/gallery may import only/],
    ['src/main/inference/pool/pool.ts', '../../gallery/matcher', /src\/main\/inference may import only/],
    ['src/main/live/processor.ts', '../app/create-backend', /src\/main\/live may import only/],
    ['src/main/app/create-backend.ts', '../server/server', /src\/main\/app may import only/]
  ])('%s importing %s is an error', async (file, spec, message) => {
    const errors = await importErrors(file, spec)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(message)
  })

  it.each([
    ['src/shared/api.ts', 'zod'],
    ['src/shared/api.ts', './types'],
    ['src/main/gallery/gallery.ts', '../store/db'],
    ['src/main/gallery/gallery.ts', '../log/logger'],
    ['src/main/review/queue.ts', '../gallery/gallery'],
    ['src/main/live/processor.ts', '../tracking/tracker'],
    ['src/main/electron/ipc.ts', 'electron'],
    ['src/main/index.ts', 'electron'],
    ['src/preload/index.ts', 'electron'],
    ['src/main/server/main.ts', '../app/create-backend']
  ])('%s importing %s is allowed', async (file, spec) => {
    expect(await importErrors(file, spec)).toEqual([])
  })
})
