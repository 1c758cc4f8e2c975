// Which camera sources this engine may open, decided before any ffmpeg starts. The URL syntax is
// checked by classifyUrl; this adds what depends on the installation: local files only below the
// folders an admin listed in Settings (checked on the real path, so a symlink cannot lead out),
// and none at all when the console is reachable from the network.
import { realpath } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { CameraUrlError, type ClassifiedUrl } from './url'

/** The file is not there (yet): a camera retries, unlike a refused path. */
export class SourceMissingError extends CameraUrlError {
  constructor() {
    super('not found')
    this.name = 'SourceMissingError'
  }
}

export interface SourcePolicy {
  /** folders below which local video files may be read; null = anywhere (CLI tools: the operator typed the path) */
  localFolders(): readonly string[] | null
  /** false when the API is reachable off loopback: no local file, whatever the folders say */
  allowLocalFiles: boolean
}

/** For CLI tools and tests, where the person typing the path already owns the machine. */
export const OPERATOR_POLICY: SourcePolicy = { localFolders: () => null, allowLocalFiles: true }

/** Settings-driven policy of the backend (browser mode and Electron). */
export function settingsPolicy(folders: () => readonly string[] | undefined, allowLocalFiles: boolean): SourcePolicy {
  return { localFolders: () => folders() ?? [], allowLocalFiles }
}

export const FILES_OFF_REMOTE =
  'local video files are disabled while the console is reachable from the network (browser mode off loopback)'
export const FILES_NOT_LISTED =
  'local video files are read only below the folders listed in Settings → Local video folders'

/** True when `child` is `parent` or below it (both absolute, already normalised). */
export function isBelow(parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/**
 * Checks a classified source against the policy. Files come back with `input` set to their real
 * path, which is what ffmpeg must open (the check and the open then name the same file).
 * Throws CameraUrlError with a reason that does not tell whether a file outside the folders exists.
 */
export async function applyPolicy(c: ClassifiedUrl, policy: SourcePolicy): Promise<ClassifiedUrl> {
  if (c.kind !== 'file') return c
  if (!policy.allowLocalFiles) throw new CameraUrlError(FILES_OFF_REMOTE)
  const folders = policy.localFolders()
  const asked = resolve(c.input)
  if (folders !== null) {
    const realFolders = await Promise.all(folders.map((f) => realpath(resolve(f)).catch(() => null)))
    const inside = (p: string): boolean => realFolders.some((f) => f !== null && isBelow(f, p))
    // the lexical check first: a path outside every folder is refused before it is even looked up,
    // so the answer cannot be used to learn which files exist
    if (!folders.some((f) => isBelow(resolve(f), asked)) && !inside(asked)) throw new CameraUrlError(FILES_NOT_LISTED)
    const real = await realpath(asked).catch(() => null)
    if (real === null) throw new SourceMissingError()
    if (!inside(real)) throw new CameraUrlError(FILES_NOT_LISTED)
    return { ...c, input: real }
  }
  // no folder list (CLI tools): a missing file is ffmpeg's to report, the same way as before
  const real = await realpath(asked).catch(() => null)
  return { ...c, input: real ?? asked }
}
