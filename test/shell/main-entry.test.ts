import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultDataDir, parseCli } from '../../src/main/server/main'
import { connect } from './ws-client'

import { REPO_ROOT as repoRoot } from '../support/data'
const tmp = mkdtempSync(join(tmpdir(), 'vigil-main-'))
writeFileSync(join(tmp, 'index.html'), '<!doctype html><title>fake console</title>')
const children: ChildProcess[] = []
afterAll(() => {
  // A failed assertion must not leave a server running.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

describe('browser-mode CLI parsing', () => {
  it('reads host, port, token and data dir', () => {
    expect(parseCli(['--host', '::1', '--port', '8123', '--token', 't', '--data-dir', 'rel'], {})).toEqual({
      host: '::1',
      port: 8123,
      token: 't',
      dataDir: resolve('rel'),
      db: undefined,
      staticDir: undefined,
      tls: false,
      insecure: false,
      tlsFiles: undefined,
      warnings: [expect.stringMatching(/visible|every local user/)]
    })
    expect(parseCli(['--db', 'postgres://v:pw@127.0.0.1:5433/vigil'], {}).valueOf()).toMatchObject({
      db: 'postgres://v:pw@127.0.0.1:5433/vigil'
    })
    expect(parseCli([], { VIGIL_TOKEN: 'from-env', VIGIL_DATA_DIR: '/d' })).toMatchObject({
      token: 'from-env',
      dataDir: resolve('/d')
    })
    expect(parseCli(['--help'], {})).toBe('help')
  })
  it('refuses bad arguments clearly', () => {
    expect(() => parseCli(['--port', 'abc'], {})).toThrow(/invalid port/)
    expect(() => parseCli(['--bogus'], {})).toThrow(/bogus/)
    expect(() => parseCli(['stray'], {})).toThrow(/unexpected argument/)
    expect(() => parseCli(['--data-dir', ' '], {})).toThrow(/must not be empty/)
  })
  it('shares the data dir with the Electron app by default', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/cfg' }, 'linux')).toBe(join('/cfg', 'vigil', 'data'))
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32')).toContain(join('vigil', 'data'))
  })
})

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/server/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, VIGIL_BACKEND_MODULE: join(repoRoot, 'test/shell/fake-backend-module.ts'), VIGIL_PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.push(child)
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  return { child, output: () => out, exited }
}

async function waitFor(pred: () => RegExpMatchArray | null, ms = 20_000): Promise<RegExpMatchArray> {
  const t0 = Date.now()
  for (;;) {
    const m = pred()
    if (m) return m
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('browser-mode entry point', () => {
  it('prints the URL, serves the console and the API, and exits cleanly on SIGTERM', async () => {
    const p = run(['--port', '0', '--data-dir', join(tmp, 'data'), '--static-dir', tmp])
    const m = await waitFor(() => p.output().match(/Vigil browser mode: open (http:\/\/127\.0\.0\.1:\d+\/)/))
    const url = m[1] as string
    const page = await fetch(url)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('fake console')
    const c = await connect(url)
    const r = await c.invoke(1, 'system.info')
    expect(r.envelope).toMatchObject({ ok: true, value: { mode: 'browser' } })
    expect(JSON.stringify(r.envelope)).not.toContain(tmp)
    await c.close()
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    expect(p.output()).toContain('fake backend closed')
  }, 30_000)

  // The generated-token rule for non-loopback binds is tested through resolveToken (net-policy
  // tests): tests never bind to external interfaces.
  it('prints the token and a URL carrying it', async () => {
    const p = run(['--port', '0', '--token', 'tok-123', '--data-dir', join(tmp, 'data'), '--static-dir', tmp])
    await waitFor(() => p.output().match(/with token: +http:\/\/127\.0\.0\.1:\d+\/\?token=tok-123/))
    expect(p.output()).toContain('access token: tok-123\n')
    p.child.kill('SIGINT')
    expect(await p.exited).toBe(0)
  }, 30_000)

  it('exits 2 with usage on a bad argument', async () => {
    const p = run(['--port', 'nope'])
    expect(await p.exited).toBe(2)
    expect(p.output()).toMatch(/invalid port[\s\S]*usage:/)
  }, 30_000)
})
