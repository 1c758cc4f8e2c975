// Headless runner: `npm run watch -- --camera <url> [--camera <url>…] --people <dir>`.
// Enrols folder-per-person photos, watches the cameras and prints one JSON line per event
// change and per new review item on stdout (diagnostics go to stderr).
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { EventRecord } from '../../shared/types'
import { createBackend } from '../app/create-backend'
import { redactUrl } from '../cameras/url'
import { listPersonFolders, REPO_ROOT, UsageError } from './common'

const USAGE = `usage: npm run watch -- --camera <url> [--camera <url>…] [--people <dir>] [--data-dir <dir>]
         [--fps 5] [--loop] [--duration <s>] [--workers <n>]
  --people    folder with one sub-folder of photos per person (enrolled at start)
  --data-dir  where events and images are stored (default: a new temp dir)
  --loop      restart local video files at their end
  --duration  stop after this many seconds (default: run until Ctrl-C)`

export interface WatchLine {
  type: 'event' | 'review' | 'camera' | 'enrol' | 'ready'
  [k: string]: unknown
}

function out(line: WatchLine): void {
  process.stdout.write(JSON.stringify(line) + '\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      camera: { type: 'string', multiple: true },
      people: { type: 'string' },
      'data-dir': { type: 'string' },
      fps: { type: 'string' },
      loop: { type: 'boolean' },
      duration: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const cameras = values.camera ?? []
  if (cameras.length === 0) throw new UsageError(`at least one --camera is needed\n${USAGE}`)
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : await mkdtemp(join(tmpdir(), 'vigil-watch-'))
  const fps = values.fps ? Number(values.fps) : 5
  if (!(fps > 0 && fps <= 30)) throw new UsageError('--fps must be between 0 and 30')
  const duration = values.duration === undefined ? null : Number(values.duration)
  if (duration !== null && !(duration > 0)) throw new UsageError('--duration must be a positive number of seconds')

  const backend = await createBackend({
    dataDir,
    mode: 'headless',
    modelsDir: join(REPO_ROOT, 'models'),
    workers: values.workers ? Number(values.workers) : undefined
  })
  let stopping = false
  const stop = async (code: number): Promise<void> => {
    if (stopping) return
    stopping = true
    await backend.close().catch((e: unknown) => process.stderr.write(`close failed: ${(e as Error).message}\n`))
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))
  try {
    await run(backend, cameras, values, fps)
  } catch (err) {
    // the store is open: close it so nothing already written is lost, then report
    console.error(err instanceof UsageError ? err.message : err)
    await stop(2)
  }
  if (duration !== null) setTimeout(() => void stop(0), duration * 1000)
}

async function run(
  backend: Awaited<ReturnType<typeof createBackend>>,
  cameras: string[],
  values: { people?: string; loop?: boolean },
  fps: number
): Promise<void> {
  if (values.people) {
    for (const folder of await listPersonFolders(values.people)) {
      const existing = backend.gallery.list().find((p) => p.name.toLowerCase() === folder.person.toLowerCase())
      // enrolled in an earlier run with this data dir: the same photos again would only duplicate them
      if (existing && existing.photos.length > 0) continue
      const person = existing ?? (await backend.gallery.create({ name: folder.person }))
      for (const file of folder.files) {
        const bytes = await readFile(file)
        const r = await backend.gallery.addPhoto({
          personId: person.id,
          fileName: basename(file),
          dataBase64: bytes.toString('base64')
        })
        out(
          r.ok
            ? { type: 'enrol', person: person.name, file, ok: true }
            : { type: 'enrol', person: person.name, file, ok: false, code: r.code, message: r.message }
        )
      }
    }
  }

  const seenReview = new Set<string>()
  /** an event is printed when it is new or its verdict changed, not on every refresh */
  const printed = new Map<string, string>()
  backend.onPush((channel, payload) => {
    if (channel === 'event.upserted') {
      const e = payload as EventRecord
      const sig = `${e.band}|${e.personId}|${e.decision}|${e.score.toFixed(2)}`
      if (printed.get(e.id) === sig) return
      printed.set(e.id, sig)
      out({ type: 'event', ...e })
    } else if (channel === 'camera.status') {
      const v = payload as { id: string; name: string; status: unknown }
      out({ type: 'camera', id: v.id, name: v.name, status: v.status })
    } else if (channel === 'review.changed') {
      void backend.review.list({ status: 'pending' }).then((items) => {
        for (const item of items) {
          if (seenReview.has(item.id)) continue
          seenReview.add(item.id)
          const { audit: _audit, ...rest } = item
          out({ type: 'review', ...rest })
        }
      })
    }
  })

  for (const [i, url] of cameras.entries()) {
    const isFile = !/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('file:')
    const target = isFile && !url.startsWith('file:') ? resolve(url) : url
    // a data dir from an earlier run already has its cameras (they restart with the backend)
    if (backend.store.data.cameras.some((c) => c.url === target)) continue
    let name = `camera ${i + 1}`
    for (let n = 2; backend.store.data.cameras.some((c) => c.name === name); n++) name = `camera ${i + 1} (${n})`
    await backend.cameras.create({ name, url: target, detectFps: fps, loop: !!values.loop && isFile })
    process.stderr.write(`watching ${redactUrl(url)}\n`)
  }
  out({
    type: 'ready',
    dataDir: backend.store.dataDir,
    cameras: backend.store.data.cameras.length,
    people: backend.gallery.list().length
  })
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) console.error(err.message)
  else console.error(err)
  process.exit(2)
})
