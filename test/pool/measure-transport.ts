// Measures what the pool design decision rests on: cost of moving one 640×360 RGB frame to an
// inference worker (child process IPC vs worker_threads) and the memory each kind of worker costs.
// Run: npx tsx test/pool/measure-transport.ts   (numbers are noisy on a shared 2-core machine)
import { fork } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const FRAME = 640 * 360 * 3
const ROUNDS = 200

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

const echoSource = `
const { parentPort } = require('node:worker_threads')
parentPort.on('message', (m) => {
  if (m.kind === 'mem') { parentPort.postMessage({ kind: 'mem', rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed }); return }
  parentPort.postMessage({ kind: 'ack', n: m.data ? m.data.byteLength : 0, type: m.data ? m.data.constructor.name : '' })
})`

async function measureChild(
  serialization: 'advanced' | 'json'
): Promise<{ small: number; frame: number; type: string }> {
  const child = fork(path.join(here, 'fixtures', 'echo-child.mjs'), [], {
    serialization,
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  await new Promise<void>((r) => child.once('message', () => r()))
  const rt = (msg: unknown): Promise<{ type: string }> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { type: string }))
      child.send(msg as object)
    })
  const frame = new Uint8Array(FRAME).fill(7)
  const payload = serialization === 'json' ? { data: Buffer.from(frame).toString('base64') } : { data: frame }
  for (let i = 0; i < 20; i++) await rt({ data: null })
  const small: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now()
    await rt({ data: null })
    small.push(performance.now() - t)
  }
  const big: number[] = []
  let type = ''
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now()
    type = (await rt(payload)).type
    big.push(performance.now() - t)
  }
  child.kill()
  return { small: median(small), frame: median(big), type }
}

async function measureThread(transfer: boolean): Promise<{ small: number; frame: number }> {
  const w = new Worker(echoSource, { eval: true })
  const rt = (msg: { data: Uint8Array | null }): Promise<unknown> =>
    new Promise((resolve) => {
      w.once('message', resolve)
      w.postMessage(msg, transfer && msg.data ? [msg.data.buffer as ArrayBuffer] : [])
    })
  for (let i = 0; i < 20; i++) await rt({ data: null })
  const small: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now()
    await rt({ data: null })
    small.push(performance.now() - t)
  }
  const big: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    // a fresh frame each time, as a camera would deliver (transfer detaches the buffer)
    const frame = new Uint8Array(FRAME).fill(7)
    const t = performance.now()
    await rt({ data: frame })
    big.push(performance.now() - t)
  }
  await w.terminate()
  return { small: median(small), frame: median(big) }
}

async function childRss(loadModels: boolean): Promise<number> {
  const child = fork(path.join(here, 'fixtures', 'echo-child.mjs'), loadModels ? ['--models'] : [], {
    serialization: 'advanced',
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  await new Promise<void>((r) => child.once('message', () => r()))
  const rss = await new Promise<number>((resolve) => {
    child.once('message', (m) => resolve((m as { rss: number }).rss))
    child.send({ kind: 'mem' })
  })
  child.kill()
  return rss
}

/** RSS growth of this process when one worker thread loads the same three sessions. */
async function threadRssDelta(): Promise<number> {
  const before = process.memoryUsage().rss
  const models = path.resolve(here, '../../models')
  const src = `
const { parentPort } = require('node:worker_threads')
const ort = require(${JSON.stringify(path.resolve(here, '../../node_modules/onnxruntime-node'))})
Promise.all(['fr_detect.onnx','fr_landmark.onnx','fr_feature.onnx'].map((f) => ort.InferenceSession.create(${JSON.stringify(models)} + '/' + f, { intraOpNumThreads: 1 })))
  .then((s) => { globalThis.s = s; parentPort.postMessage('ready') })`
  const w = new Worker(src, { eval: true })
  await new Promise((r) => w.once('message', r))
  const after = process.memoryUsage().rss
  await w.terminate()
  return after - before
}

const mb = (b: number): string => (b / 1048576).toFixed(1) + ' MB'
const fmt = (x: number): string => x.toFixed(3) + ' ms'

const adv = await measureChild('advanced')
console.log(
  `child_process advanced: small round trip ${fmt(adv.small)}, 640x360 RGB frame round trip ${fmt(adv.frame)} (arrives as ${adv.type}); frame cost ${fmt(adv.frame - adv.small)}`
)
const json = await measureChild('json')
console.log(
  `child_process json+base64: small ${fmt(json.small)}, frame ${fmt(json.frame)}; frame cost ${fmt(json.frame - json.small)}`
)
const tc = await measureThread(false)
console.log(
  `worker_threads copy: small ${fmt(tc.small)}, frame ${fmt(tc.frame)}; frame cost ${fmt(tc.frame - tc.small)}`
)
const tt = await measureThread(true)
console.log(
  `worker_threads transfer: small ${fmt(tt.small)}, frame ${fmt(tt.frame)}; frame cost ${fmt(tt.frame - tt.small)}`
)
console.log(`worker thread with the 3 ONNX sessions adds ${mb(await threadRssDelta())} to the parent RSS`)
console.log(`child RSS idle ${mb(await childRss(false))}, with the 3 ONNX sessions loaded ${mb(await childRss(true))}`)
