// `npm run replay -- --clip <video> [--people <dir>] --loops N [--reject-all]`
// Runs the whole live engine (worker pool, tracker, decider, events, review queue, face memory) on
// a video clip as one camera, loop after loop, as fast as analysis allows: frames are decoded by
// ffmpeg once and fed one at a time with the clip's own timing (at --fps). With --reject-all every
// review item is rejected as soon as it appears, as an operator saying "no" would. Between loops
// the camera restarts (its tracks finish), as a looping camera's cut would do.
// Last line JSON: {"loops","tracks","events","reviewItems","reviewItemsAfterFirstLoop",
// "strangerGroups","newGroupsAfterFirstLoop"}.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { createBackend, type Backend } from '../app/create-backend'
import { locateFfmpeg } from '../cameras/ffmpeg'
import type { Logger } from '../log/logger'
import type { CameraFrame, RgbImage } from '../contracts'
import { listPersonFolders, REPO_ROOT, runCli, UsageError } from './common'

const USAGE = `usage: npm run replay -- --clip <video> [--people <dir>] [--loops 1] [--reject-all] [--fps 5] [--workers 1]
  --people      one sub-folder of photos per person, enrolled first
  --reject-all  reject every review item the moment it appears`

const CAMERA = 'replay'

/** Warnings and errors to stderr: stdout carries only the result lines. */
const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (a: unknown, b?: string) => void process.stderr.write(`warn: ${b ?? String(a)}\n`),
  error: (a: unknown, b?: string) => void process.stderr.write(`error: ${b ?? String(a)}\n`),
  child: () => stderrLogger
}
const MAX_WIDTH = 640

async function probeSize(ffmpeg: string, clip: string): Promise<{ width: number; height: number }> {
  // ffmpeg -i prints the stream line on stderr and exits 1 without an output
  const r = await promisify(execFile)(ffmpeg, ['-hide_banner', '-i', clip]).catch((e: { stderr?: string }) => ({
    stderr: e.stderr ?? ''
  }))
  const m = /Video:.*?(\d{2,5})x(\d{2,5})/.exec(r.stderr)
  if (!m) throw new UsageError(`${clip}: no video stream found`)
  return { width: Number(m[1]), height: Number(m[2]) }
}

async function decode(clip: string, fps: number): Promise<RgbImage[]> {
  const ffmpeg = locateFfmpeg().path
  const src = await probeSize(ffmpeg, clip)
  const width = Math.min(MAX_WIDTH, src.width) & ~1
  const height = Math.round((src.height * width) / src.width) & ~1
  const { stdout } = await promisify(execFile)(
    ffmpeg,
    [
      '-v',
      'error',
      '-i',
      clip,
      '-vf',
      `fps=${fps},scale=${width}:${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-'
    ],
    { encoding: 'buffer', maxBuffer: 2 ** 31 }
  )
  const size = width * height * 3
  const frames: RgbImage[] = []
  for (let o = 0; o + size <= stdout.length; o += size)
    frames.push({ data: stdout.subarray(o, o + size), width, height })
  if (frames.length === 0) throw new UsageError(`${clip}: no frames decoded`)
  return frames
}

async function enrol(backend: Backend, dir: string): Promise<void> {
  for (const folder of await listPersonFolders(dir)) {
    const person = await backend.gallery.create({ name: folder.person })
    for (const file of folder.files) {
      const r = await backend.gallery.addPhoto({
        personId: person.id,
        fileName: basename(file),
        dataBase64: (await readFile(file)).toString('base64')
      })
      if (!r.ok) process.stderr.write(`enrol ${file}: ${r.message}\n`)
    }
  }
}

async function rejectPending(backend: Backend): Promise<number> {
  let n = 0
  for (const item of await backend.review.list({ status: 'pending' })) {
    await backend.review.decide({ itemId: item.id, version: item.version, action: 'reject', operator: 'replay' })
    n++
  }
  return n
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clip: { type: 'string' },
      people: { type: 'string' },
      loops: { type: 'string' },
      'reject-all': { type: 'boolean' },
      fps: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  if (!values.clip) throw new UsageError(`--clip is needed\n${USAGE}`)
  const clip = resolve(values.clip)
  if (!(await stat(clip).catch(() => null))?.isFile()) throw new UsageError(`${clip} is not a file`)
  const loops = values.loops === undefined ? 1 : Number(values.loops)
  if (!Number.isInteger(loops) || loops < 1) throw new UsageError('--loops needs a positive integer')
  const fps = values.fps === undefined ? 5 : Number(values.fps)
  if (!(fps > 0 && fps <= 30)) throw new UsageError('--fps must be between 0 and 30')
  const workers = values.workers === undefined ? 1 : Number(values.workers)
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError('--workers needs a positive integer')

  const frames = await decode(clip, fps)
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-replay-'))
  const backend = await createBackend({
    dataDir,
    mode: 'headless',
    modelsDir: join(REPO_ROOT, 'models'),
    workers,
    logger: stderrLogger
  })
  try {
    if (values.people) await enrol(backend, values.people)
    let at = Date.now()
    let rejected = 0
    let itemsAfterLoop1 = 0
    let groupsAfterLoop1 = 0
    for (let loop = 1; loop <= loops; loop++) {
      for (const [seq, image] of frames.entries()) {
        const frame: CameraFrame = { cameraId: CAMERA, at, seq, image, scale: 1 }
        at += 1000 / fps
        let taken = false
        backend.live.frameReady({
          id: CAMERA,
          takeLatest: () => {
            if (taken) return null
            taken = true
            return frame
          }
        })
        await backend.live.drain()
        if (values['reject-all']) rejected += await rejectPending(backend)
      }
      // the loop ends like a camera restart: every track finishes and records its sighting
      backend.live.forgetCamera(CAMERA)
      await backend.live.drain()
      await backend.memory.drain()
      if (values['reject-all']) rejected += await rejectPending(backend)
      const items = (await backend.review.list()).length
      const groups = backend.memory.listGroups({ includeIgnored: true }).length
      if (loop === 1) {
        itemsAfterLoop1 = items
        groupsAfterLoop1 = groups
      }
      process.stderr.write(`loop ${loop}: ${items} review items (${rejected} rejected), ${groups} stranger groups\n`)
    }
    const reviewItems = (await backend.review.list()).length
    const strangerGroups = backend.memory.listGroups({ includeIgnored: true }).length
    console.log(
      JSON.stringify({
        loops,
        tracks: backend.memory.sightingsRecorded,
        events: await backend.sql.events.total(),
        reviewItems,
        reviewItemsAfterFirstLoop: reviewItems - itemsAfterLoop1,
        strangerGroups,
        newGroupsAfterFirstLoop: strangerGroups - groupsAfterLoop1
      })
    )
  } finally {
    await backend.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}

runCli(main)
