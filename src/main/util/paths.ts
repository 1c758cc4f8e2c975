// Where this checkout is, for the tools that run from source (browser-mode server, CLIs): models,
// the built renderer and package.json are found from here, whatever the working directory.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file is src/main/util/paths.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')
