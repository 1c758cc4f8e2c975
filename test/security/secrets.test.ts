// Camera passwords at rest: db.json (and its backup) never holds one; the key file and the data
// dir are private to the user; a database written before encryption is sealed at the next start.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { KEY_FILE, keyFileBox } from '../../src/main/store/secret-box'
import { cameraLab } from './support'

const root = mkdtempSync(join(tmpdir(), 'vigil-secrets-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const URL_WITH_SECRET = 'rtsp://admin:Tr0ub4dor%263@127.0.0.1:1/stream?authkey=k3y'

describe('camera passwords at rest', () => {
  it('are sealed in db.json, opened for ffmpeg, and survive a restart', async () => {
    const dir = join(root, 'a')
    const dataDir = join(dir, 'data')
    const box = keyFileBox(dataDir)
    const lab = await cameraLab({ dir, box })
    const view = await lab.cameras.create({ name: 'door', url: URL_WITH_SECRET })
    expect(view.urlRedacted).toBe('rtsp://***@127.0.0.1:1/stream?authkey=***')
    await lab.close()
    const onDisk = readFileSync(join(dataDir, 'settings.json'), 'utf8')
    expect(onDisk).not.toMatch(/Tr0ub4dor|k3y|admin/)
    expect(onDisk).toMatch(/"urlSealed": ?"v1:kf:/)
    for (const f of readdirSync(dataDir)) {
      if (f.startsWith('settings.json')) expect(readFileSync(join(dataDir, f), 'utf8'), f).not.toContain('Tr0ub4dor')
    }
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)

    const again = await cameraLab({ dir, box: keyFileBox(dataDir) })
    expect(again.cameras.get(view.id).url).toBe(URL_WITH_SECRET)
    await again.close()
  })

  it('a database from before encryption is sealed at start', async () => {
    const dir = join(root, 'b')
    const first = await cameraLab({ dir })
    await first.cameras.create({ name: 'old', url: URL_WITH_SECRET })
    await first.close()
    expect(readFileSync(join(dir, 'data', 'settings.json'), 'utf8')).toContain('Tr0ub4dor')
    const sealed = await cameraLab({ dir, box: keyFileBox(join(dir, 'data')) })
    await sealed.close()
    expect(readFileSync(join(dir, 'data', 'settings.json'), 'utf8')).not.toContain('Tr0ub4dor')
  })

  it('an altered or foreign sealed value is refused with a reason, not decrypted to garbage', () => {
    const box = keyFileBox(join(root, 'c'))
    const s = box.seal('secret')
    expect(box.open(s)).toBe('secret')
    const flipped = s.slice(0, -4) + (s.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    expect(() => box.open(flipped)).toThrow(/cannot decrypt/)
    expect(() => box.open('v1:os:abcd')).toThrow(/another box/)
    writeFileSync(join(root, 'c', KEY_FILE), 'short\n')
    expect(() => keyFileBox(join(root, 'c'))).toThrow(/not a Vigil key file/)
  })
})
