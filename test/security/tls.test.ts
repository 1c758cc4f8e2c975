// Findings 5 and 6: the token on the command line and plain HTTP off loopback. The real entry
// point runs as a child process; tests never bind external interfaces (team rule), so the TLS path
// is exercised with --tls on 127.0.0.1 and the off-loopback choice through chooseTransport.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import WebSocket from 'ws'
import { afterAll, describe, expect, it } from 'vitest'
import { chooseTransport } from '../../src/main/server/net-policy'
import { describeCert } from '../../src/main/server/tls'

const repoRoot = resolve(import.meta.dirname, '../..')
const tmp = mkdtempSync(join(tmpdir(), 'vigil-tls-'))
writeFileSync(join(tmp, 'index.html'), '<!doctype html><title>fake console</title>')
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

function run(
  args: string[],
  env: Record<string, string> = {}
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let out = ''
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main/server/main.ts', '--port', '0', '--static-dir', tmp, ...args],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        VIGIL_BACKEND_MODULE: join(repoRoot, 'test/shell/fake-backend-module.ts'),
        VIGIL_PORT: '',
        VIGIL_TOKEN: '',
        ...env
      },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  )
  children.push(child)
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  return { child, output: () => out, exited }
}

async function waitFor(pred: () => RegExpMatchArray | null, ms = 30_000): Promise<RegExpMatchArray> {
  const t0 = Date.now()
  for (;;) {
    const m = pred()
    if (m) return m
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('transport choice', () => {
  it('off loopback is TLS unless --insecure, which warns; loopback stays HTTP unless --tls', () => {
    expect(chooseTransport('0.0.0.0', {})).toEqual({ tls: true })
    expect(chooseTransport('192.168.1.20', {})).toEqual({ tls: true })
    expect(chooseTransport('0.0.0.0', { insecure: true })).toMatchObject({
      tls: false,
      warning: expect.stringMatching(/unencrypted/)
    })
    expect(chooseTransport('127.0.0.1', {})).toEqual({ tls: false, warning: null })
    expect(chooseTransport('127.0.0.1', { tls: true })).toEqual({ tls: true })
  })
})

describe('HTTPS/WSS with a generated certificate', () => {
  it('serves only TLS, prints the fingerprint, keeps the cert, and the token comes from a file', async () => {
    const dataDir = join(tmp, 'data')
    const tokenFile = join(tmp, 'token')
    writeFileSync(tokenFile, 'file-token-0123456789abcdef\n', { mode: 0o600 })
    const p = run(['--tls', '--data-dir', dataDir, '--token-file', tokenFile])
    const url = (await waitFor(() => p.output().match(/Vigil browser mode: open (https:\/\/127\.0\.0\.1:\d+\/)/)))[1]!
    const fp = (await waitFor(() => p.output().match(/certificate SHA-256 fingerprint: (\S+)/)))[1]!
    const cert = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8')
    expect(describeCert(cert).fingerprint256).toBe(fp)
    expect(statSync(join(dataDir, 'tls', 'key.pem')).mode & 0o077).toBe(0)
    expect(p.output()).not.toMatch(/--token puts/)

    // trusted through the pinned certificate, not by turning verification off
    const page = await new Promise<{ status: number; body: string }>((done, fail) => {
      httpsGet(url, { ca: cert }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => done({ status: res.statusCode ?? 0, body }))
      }).on('error', fail)
    })
    expect(page).toMatchObject({ status: 200, body: expect.stringContaining('fake console') })
    // plain HTTP on the same port gets no page
    const plain = await new Promise<string>((done) => {
      httpGet(url.replace('https:', 'http:'), (res) => done(`status ${res.statusCode}`)).on('error', (e) =>
        done(e.message)
      )
    })
    expect(plain).not.toBe('status 200')

    const ws = new WebSocket(`${url.replace('https:', 'wss:')}api`, { ca: cert, origin: url.replace(/\/$/, '') })
    await new Promise<void>((done, fail) => {
      ws.once('open', () => done())
      ws.once('error', fail)
    })
    const answer = new Promise<string>((done) =>
      ws.on('message', (d: Buffer) => {
        if (d.toString().includes('"result"')) done(d.toString())
      })
    )
    ws.send(JSON.stringify({ kind: 'auth', token: 'file-token-0123456789abcdef' }))
    ws.send(JSON.stringify({ kind: 'invoke', id: 1, channel: 'system.info' }))
    expect(JSON.parse(await answer)).toMatchObject({ envelope: { ok: true } })
    ws.close()
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)

    // a restart reuses the certificate: operators pinned its fingerprint
    const again = run(['--tls', '--data-dir', dataDir, '--token-file', tokenFile])
    const fp2 = (await waitFor(() => again.output().match(/certificate SHA-256 fingerprint: (\S+)/)))[1]
    expect(fp2).toBe(fp)
    again.child.kill('SIGTERM')
    await again.exited
  }, 90_000)

  it('a token given as an argument is accepted with a warning', async () => {
    const p = run(['--data-dir', join(tmp, 'd2'), '--token', 'arg-token-0123456789'])
    await waitFor(() => p.output().match(/Vigil browser mode: open/))
    expect(p.output()).toMatch(/--token puts the access token on the command line/)
    p.child.kill('SIGTERM')
    await p.exited
  }, 60_000)
})
