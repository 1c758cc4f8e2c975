// npm start's mode choice, checked with --dry-run against a stand-in Electron binary.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

import { REPO_ROOT as repoRoot } from '../support/data'
const fakeDist = mkdtempSync(join(tmpdir(), 'vigil-fake-electron-'))
const exe = join(fakeDist, process.platform === 'win32' ? 'electron.exe' : 'electron')
writeFileSync(exe, '#!/bin/sh\nexit 0\n')
chmodSync(exe, 0o755)
afterAll(() => rmSync(fakeDist, { recursive: true, force: true }))

function start(args: string[], env: Record<string, string | undefined>): string {
  const clean: NodeJS.ProcessEnv = { ...process.env }
  delete clean.DISPLAY
  delete clean.WAYLAND_DISPLAY
  delete clean.ELECTRON_OVERRIDE_DIST_PATH
  const r = spawnSync(process.execPath, ['scripts/start.mjs', '--dry-run', ...args], {
    cwd: repoRoot,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000
  })
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe.skipIf(process.platform !== 'linux')('npm start mode choice', () => {
  it('uses Electron when its binary and a display exist', () => {
    const out = start(['--port', '5000'], { ELECTRON_OVERRIDE_DIST_PATH: fakeDist, DISPLAY: ':0' })
    expect(out).toContain('starting the Electron app')
    expect(out).toMatch(/would run .*electron .* --port 5000/)
  })
  it('falls back to browser mode without a display, and says why', () => {
    const out = start([], { ELECTRON_OVERRIDE_DIST_PATH: fakeDist })
    expect(out).toContain('browser mode because no display is available')
  })
  it('falls back to browser mode when the binary is missing', () => {
    const out = start([], { ELECTRON_OVERRIDE_DIST_PATH: join(fakeDist, 'nope'), DISPLAY: ':0' })
    expect(out).toMatch(/browser mode because the Electron binary .* does not exist/)
  })
  it('honours --browser and forwards the other flags to the server', () => {
    const out = start(['--browser', '--port', '5001', '--token', 'abc'], {
      ELECTRON_OVERRIDE_DIST_PATH: fakeDist,
      DISPLAY: ':0'
    })
    expect(out).toContain('browser mode because --browser was given')
    expect(out).toContain('src/main/server/main.ts --port 5001')
    // the token goes to the server in its environment, never onto its command line (ps)
    expect(out).not.toContain('--token abc')
    expect(out).toMatch(/warning: --token is visible/)
  })
})
