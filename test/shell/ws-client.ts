// A tiny WebSocket test client speaking the browser-mode protocol.
import WebSocket from 'ws'
import type { WsServerMessage } from '../../src/shared/api'
import { decodePreviewFrame } from '../../src/shared/preview-wire'

export interface TestClient {
  ws: WebSocket
  messages: WsServerMessage[]
  /** every text frame as received (to check what travels as JSON) */
  texts: string[]
  /** binary frames received */
  binaryFrames: number
  /** resolves with the next message matching pred (already received ones count) */
  next(pred: (m: WsServerMessage) => boolean, timeoutMs?: number): Promise<WsServerMessage>
  send(value: unknown): void
  sendRaw(text: string): void
  invoke(id: number, channel: string, payload?: unknown): Promise<Extract<WsServerMessage, { kind: 'result' }>>
  close(): Promise<void>
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/api'
}

export async function connect(
  httpUrl: string,
  opts: { origin?: string; headers?: Record<string, string> } = {}
): Promise<TestClient> {
  const ws = new WebSocket(wsUrl(httpUrl), { origin: opts.origin, headers: opts.headers })
  const messages: WsServerMessage[] = []
  const texts: string[] = []
  let binaryFrames = 0
  const waiters: { pred: (m: WsServerMessage) => boolean; done: (m: WsServerMessage) => void }[] = []
  ws.on('message', (data, isBinary) => {
    let m: WsServerMessage
    if (isBinary) {
      binaryFrames++
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)
      const p = decodePreviewFrame(buf)
      if (!p) return
      m = { kind: 'push', channel: 'camera.preview', payload: p }
    } else {
      texts.push(String(data as Buffer))
      m = JSON.parse(String(data as Buffer)) as WsServerMessage
    }
    messages.push(m)
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.done(m)
      }
    }
  })
  await new Promise<void>((done, fail) => {
    ws.once('open', () => done())
    ws.once('error', fail)
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)))
  })
  const client: TestClient = {
    ws,
    messages,
    texts,
    get binaryFrames() {
      return binaryFrames
    },
    next(pred, timeoutMs = 3000) {
      const found = messages.find(pred)
      if (found) return Promise.resolve(found)
      return new Promise((done, fail) => {
        const t = setTimeout(() => fail(new Error('timed out waiting for a message')), timeoutMs)
        waiters.push({
          pred,
          done: (m) => {
            clearTimeout(t)
            done(m)
          }
        })
      })
    },
    send: (value) => ws.send(JSON.stringify(value)),
    sendRaw: (text) => ws.send(text),
    async invoke(id, channel, payload) {
      ws.send(JSON.stringify({ kind: 'invoke', id, channel, payload }))
      const m = await client.next((x) => x.kind === 'result' && x.id === id)
      return m as Extract<WsServerMessage, { kind: 'result' }>
    },
    close: () =>
      new Promise<void>((done) => {
        if (ws.readyState === WebSocket.CLOSED) return done()
        ws.once('close', () => done())
        ws.close()
      })
  }
  return client
}
