// Encryption at rest for camera credentials. The store calls a SecretBox; which one depends on the
// shell: Electron's safeStorage (the OS keychain) when available, else a key file in the data dir
// that only the user can read. Sealed strings name their box, so a database moved between boxes
// says why it cannot be opened instead of yielding garbage.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface SecretBox {
  /** 'os-keychain' (Electron safeStorage) or 'key-file' */
  readonly kind: 'os-keychain' | 'key-file'
  seal(plain: string): string
  /** throws with a reason when the sealed text is not from this box or was altered */
  open(sealed: string): string
}

export const KEY_FILE = 'secret.key'
const KF_PREFIX = 'v1:kf:'

/** True for strings produced by any SecretBox. */
export function isSealed(s: string): boolean {
  return /^v1:(kf|os):/.test(s)
}

/**
 * AES-256-GCM with a random 32-byte key in <dataDir>/secret.key (0600, the data dir 0700). It
 * protects a copied db.json or backup; an attacker who can read the user's files reads the key too,
 * which is why the OS keychain wins where one exists.
 */
export function keyFileBox(dataDir: string): SecretBox {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  if (process.platform !== 'win32') chmodSync(dataDir, 0o700)
  const file = join(dataDir, KEY_FILE)
  let key: Buffer
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    key = randomBytes(32)
    // wx: two processes racing must not overwrite each other's key (sealed data would be lost)
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  }
  if (key.length !== 32) throw new Error(`${file} is not a Vigil key file (expected 32 bytes of base64)`)
  if (process.platform !== 'win32') chmodSync(file, 0o600)
  return {
    kind: 'key-file',
    seal(plain) {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return KF_PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64')
    },
    open(sealed) {
      if (!sealed.startsWith(KF_PREFIX))
        throw new Error(`sealed with another box (${sealed.slice(0, 6)}); re-enter the camera URL`)
      const raw = Buffer.from(sealed.slice(KF_PREFIX.length), 'base64')
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      d.setAuthTag(raw.subarray(12, 28))
      try {
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
      } catch {
        throw new Error(`cannot decrypt with ${file} (key replaced or data altered); re-enter the camera URL`)
      }
    }
  }
}

/** The OS keychain through a pair of functions (Electron safeStorage), kept Electron-free here. */
export function keychainBox(encrypt: (s: string) => Buffer, decrypt: (b: Buffer) => string): SecretBox {
  const prefix = 'v1:os:'
  return {
    kind: 'os-keychain',
    seal: (plain) => prefix + encrypt(plain).toString('base64'),
    open(sealed) {
      if (!sealed.startsWith(prefix))
        throw new Error(`sealed with another box (${sealed.slice(0, 6)}); re-enter the camera URL`)
      return decrypt(Buffer.from(sealed.slice(prefix.length), 'base64'))
    }
  }
}
