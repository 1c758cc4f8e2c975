// The certificate of browser mode off loopback: one the admin provides, or a self-signed one made
// on first start and kept in the data dir so its fingerprint (which operators pin) stays the same.
import { X509Certificate, createHash, createPublicKey } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname, networkInterfaces } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { generate } from 'selfsigned'

export interface TlsMaterial {
  key: string
  cert: string
  /** SHA-256 of the certificate, "AB:CD:…" as browsers show it */
  fingerprint256: string
  /** base64 SHA-256 of the public key (SPKI): what HPKP-style pins and Chromium's spki list take */
  spkiSha256: string
  /** where the files are */
  certFile: string
  keyFile: string
  generated: boolean
}

export function describeCert(cert: string): { fingerprint256: string; spkiSha256: string } {
  const x = new X509Certificate(cert)
  const spki = createPublicKey(cert).export({ type: 'spki', format: 'der' })
  return { fingerprint256: x.fingerprint256, spkiSha256: createHash('sha256').update(spki).digest('base64') }
}

/** Names a client may use to reach this machine: loopback, the host name, every interface address. */
export function certificateNames(bindHost: string): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost', hostname()])
  const ips = new Set(['127.0.0.1', '::1'])
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) ips.add(a.address)
  if (isIP(bindHost)) {
    if (bindHost !== '0.0.0.0' && bindHost !== '::') ips.add(bindHost)
  } else if (bindHost) dns.add(bindHost)
  return { dns: [...dns].filter(Boolean), ips: [...ips] }
}

async function readPair(certFile: string, keyFile: string): Promise<{ cert: string; key: string } | null> {
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

/**
 * Loads <dataDir>/tls/cert.pem + key.pem, generating them (EC P-256, 825 days: the longest
 * lifetime browsers accept) when absent. `given` (--tls-cert/--tls-key) wins and is never written.
 */
export async function loadOrCreateTls(
  dataDir: string,
  bindHost: string,
  given?: { certFile: string; keyFile: string }
): Promise<TlsMaterial> {
  if (given) {
    const pair = await readPair(given.certFile, given.keyFile)
    if (!pair) throw new Error(`TLS certificate ${given.certFile} or key ${given.keyFile} not found`)
    return { ...pair, ...describeCert(pair.cert), ...given, generated: false }
  }
  const dir = join(dataDir, 'tls')
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  const existing = await readPair(certFile, keyFile)
  if (existing) return { ...existing, ...describeCert(existing.cert), certFile, keyFile, generated: false }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const names = certificateNames(bindHost)
  const pems = await generate([{ name: 'commonName', value: `Vigil on ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.dns.map((value) => ({ type: 2 as const, value })),
          ...names.ips.map((ip) => ({ type: 7 as const, ip }))
        ]
      }
    ]
  })
  // the key first and private: a crash between the two writes must not leave a readable key
  await writeFile(keyFile, pems.private, { mode: 0o600 })
  await chmod(keyFile, 0o600)
  await writeFile(certFile, pems.cert, { mode: 0o644 })
  return { key: pems.private, cert: pems.cert, ...describeCert(pems.cert), certFile, keyFile, generated: true }
}
