// Test helper: a real HTTP webhook receiver on 127.0.0.1 that checks the HMAC signature and
// dedupes by idempotency key, as the README tells receivers to. It can go down and come back on
// the same port.
import { createServer, type Server } from 'node:http'
import { verifySignature } from '../../src/main/alerts/payload'
import type { AlertPayload } from '../../src/main/alerts/payload'
import { freePort } from './rtsp'

export interface Received {
  key: string
  payload: AlertPayload
  signatureOk: boolean
  at: number
}

export interface Receiver {
  url: string
  /** first request per idempotency key, in arrival order */
  unique(): Received[]
  /** every request, duplicates included */
  requests: number
  /** requests whose key was seen before (retries of an already delivered one) */
  duplicates: number
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startReceiver(secret: string, opts: { status?: () => number } = {}): Promise<Receiver> {
  const port = await freePort()
  const seen = new Map<string, Received>()
  let server: Server | null = null
  const r: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    unique: () => [...seen.values()],
    requests: 0,
    duplicates: 0,
    async stop() {
      const s = server
      server = null
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    async start() {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          r.requests++
          const status = opts.status?.() ?? 200
          if (status >= 300) {
            res.writeHead(status).end()
            return
          }
          const key = String(req.headers['idempotency-key'] ?? '')
          if (seen.has(key)) r.duplicates++
          else
            seen.set(key, {
              key,
              payload: JSON.parse(body) as AlertPayload,
              signatureOk: verifySignature(
                secret,
                String(req.headers['x-vigil-timestamp'] ?? ''),
                body,
                String(req.headers['x-vigil-signature'] ?? '')
              ),
              at: Date.now()
            })
          res.writeHead(204).end()
        })
      })
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(port, '127.0.0.1', () => resolve())
      })
      server = s
    }
  }
  await r.start()
  return r
}
