// One camera = one ffmpeg process with two outputs: raw RGB frames for detection on pipe:1 and an
// MJPEG preview for the tile on pipe:3. Decoding once for both keeps a 2-core box usable with
// several cameras.
//
// Frame delivery policy ("newest frame wins"): the source holds exactly one frame, the newest.
// Each decoded frame replaces it and is announced with the 'frame' event. A consumer claims a
// frame with takeLatest() — typically from the 'frame' listener when it is idle, and again when
// it finishes its work. A frame replaced before anyone claimed it is counted as dropped. Nothing
// queues inside the source, so memory stays at one frame per camera however slow the consumer.
//
// Portability: pipe:3 relies on the child inheriting a fourth stdio handle. That is plain fd
// inheritance on Linux/macOS; on Windows libuv passes it through the CRT handle table, which the
// mingw-built ffmpeg reads, but this path has only been exercised on Linux.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type { CameraFrame, CameraSourceEvents } from '../contracts'
import type { CameraConfig, CameraState, CameraStatus, CameraTestResult } from '../../shared/types'
import { DEFAULT_DECODE, decodeArgs, describeDecoder, type DecodeOptions } from './decode'
import { currentFfmpeg, locateFfmpeg, type FfmpegInfo } from './ffmpeg'
import { backoffDelay, JpegSplitter, RateMeter, RawFrameAssembler, type BackoffOptions } from './framing'
import { applyPolicy, OPERATOR_POLICY, SourceMissingError, type SourcePolicy } from './policy'
import { Semaphore } from './semaphore'
import { publicReason, reasonFromStderr, StderrReader, type Size } from './stderr'
import { classifyUrl, CameraUrlError, inputArgs, redactUrl, scaleFilter, type ClassifiedUrl } from './url'
import { silentLogger, type Logger } from '../log/logger'
import { serial } from '../util/serial'

export interface CameraSourceOptions {
  /** ffmpeg binary; default: locateFfmpeg() (VIGIL_FFMPEG, PATH, bundled) */
  ffmpegPath?: string
  /** preview JPEGs per second (default 4) */
  previewFps?: number
  /** preview width, px (default 480) */
  previewWidth?: number
  /** JPEG quality scale 2 (best) … 31 (default 7) */
  previewQuality?: number
  /** no frame for this long → offline and restart ffmpeg (default 10 000) */
  watchdogMs?: number
  /** restart delays (default 1 s doubling to 30 s) */
  backoff?: BackoffOptions
  /** socket I/O timeout given to ffmpeg for network sources (default min(5000, watchdogMs)) */
  ioTimeoutMs?: number
  /** window of the fps measurement, ms (default 5000) */
  fpsWindowMs?: number
  /** decoder threads per camera, 0 = ffmpeg's choice (default 1: see decode.ts for the measurements) */
  decodeThreads?: number
  /** ffmpeg's diagnostic lines go out at debug level (verbose), exits and stalls at warn; always redacted */
  logger?: Logger
  /** which local files may be opened (default OPERATOR_POLICY: any, for CLI tools) */
  policy?: SourcePolicy
}

/** Status of a camera whose ingest has not run yet. */
export function initialStatus(config: Pick<CameraConfig, 'id' | 'enabled'>): CameraStatus {
  return {
    cameraId: config.id,
    state: config.enabled ? 'offline' : 'disabled',
    reason: null,
    fps: 0,
    lastFrameAt: null,
    width: null,
    height: null,
    restarts: 0,
    decoder: null
  }
}

export interface CameraSourceStats {
  /** frames decoded and announced */
  delivered: number
  /** frames claimed with takeLatest() */
  taken: number
  /** frames replaced before being claimed */
  dropped: number
  previews: number
  /** ffmpeg processes started */
  spawns: number
}

interface Run {
  gen: number
  proc: ChildProcess
  stderr: StderrReader
  frames: RawFrameAssembler
  jpegs: JpegSplitter
  startedAt: number
  lastActivityAt: number | null
  frameSize: Size | null
  scale: number
  sourceSize: Size | null
  closed: Promise<void>
  /** the run ended through our kill (watchdog, stop, update) rather than by itself */
  killed: boolean
  decode: DecodeOptions
  /** the decoder is known for good (the first output frame size was seen) */
  decoderKnown: boolean
}

type Listener<E extends keyof CameraSourceEvents> = CameraSourceEvents[E]

const KILL_GRACE_MS = 2000
/** online this long → the backoff starts again at 1 s; a camera that flaps keeps backing off */
const STABLE_MS = 10_000

export class CameraSource extends EventEmitter {
  private config: CameraConfig
  private readonly opts: Required<Omit<CameraSourceOptions, 'ffmpegPath' | 'logger' | 'backoff' | 'policy'>> & {
    backoff: BackoffOptions
  }
  private readonly log: (line: string) => void
  private readonly logger: Logger
  private ffmpegPath: string | undefined
  private readonly policy: SourcePolicy
  private running = false
  private gen = 0
  private run: Run | null = null
  private restartTimer: NodeJS.Timeout | null = null
  private tick: NodeJS.Timeout | null = null
  /** consecutive failed runs since the last frame: drives the backoff */
  private failures = 0
  private onlineSince: number | null = null
  private readonly updates = serial()
  /** went online since the last start()/update(): later failures are 'offline', earlier ones 'error' */
  private everOnline = false
  private latest: CameraFrame | null = null
  private seq = 0
  private readonly meter: RateMeter
  private readonly counters: CameraSourceStats = { delivered: 0, taken: 0, dropped: 0, previews: 0, spawns: 0 }
  private st: CameraStatus
  private lastEmitted = ''
  /** a hardware-decoding run failed before its first frame: software until the config changes */
  private hwFailed = false

  constructor(config: CameraConfig, opts: CameraSourceOptions = {}) {
    super()
    this.config = { ...config }
    const watchdogMs = opts.watchdogMs ?? 10_000
    this.opts = {
      previewFps: opts.previewFps ?? 4,
      previewWidth: opts.previewWidth ?? 480,
      previewQuality: opts.previewQuality ?? 7,
      watchdogMs,
      ioTimeoutMs: opts.ioTimeoutMs ?? Math.min(5000, watchdogMs),
      fpsWindowMs: opts.fpsWindowMs ?? 5000,
      decodeThreads: opts.decodeThreads ?? DEFAULT_DECODE.threads,
      backoff: opts.backoff ?? {}
    }
    this.ffmpegPath = opts.ffmpegPath
    this.policy = opts.policy ?? OPERATOR_POLICY
    this.logger = opts.logger ?? silentLogger
    this.log = (line) => this.logger.debug(line)
    this.meter = new RateMeter(this.opts.fpsWindowMs)
    this.st = initialStatus(config)
  }

  override on<E extends keyof CameraSourceEvents>(event: E, listener: Listener<E>): this {
    return super.on(event, listener)
  }
  override once<E extends keyof CameraSourceEvents>(event: E, listener: Listener<E>): this {
    return super.once(event, listener)
  }
  override off<E extends keyof CameraSourceEvents>(event: E, listener: Listener<E>): this {
    return super.off(event, listener)
  }
  override emit<E extends keyof CameraSourceEvents>(event: E, ...args: Parameters<Listener<E>>): boolean {
    return super.emit(event, ...args)
  }

  get id(): string {
    return this.config.id
  }

  status(): CameraStatus {
    return { ...this.st, fps: round1(this.meter.rate(Date.now())) }
  }

  /** pid of the running ffmpeg, for diagnostics */
  pid(): number | null {
    return this.run?.proc.pid ?? null
  }

  stats(): CameraSourceStats {
    return { ...this.counters }
  }

  /** The newest frame not yet claimed, or null; claiming it clears the slot. */
  takeLatest(): CameraFrame | null {
    const f = this.latest
    if (f) {
      this.latest = null
      this.counters.taken++
    }
    return f
  }

  /** Starts ingest (no-op when running; a disabled camera only reports 'disabled'). */
  start(): void {
    if (this.running) return
    if (!this.config.enabled) {
      this.setState('disabled', null)
      return
    }
    this.running = true
    this.failures = 0
    this.everOnline = false
    this.setState('connecting', null)
    this.tick = setInterval(() => this.onTick(), Math.max(100, Math.min(1000, this.opts.watchdogMs / 4)))
    this.tick.unref()
    this.launch()
  }

  /** Stops ingest and waits until ffmpeg has exited (no orphan, no zombie). */
  async stop(): Promise<void> {
    this.running = false
    if (this.tick) clearInterval(this.tick)
    this.tick = null
    this.clearRestart()
    this.latest = null
    this.meter.reset()
    const r = this.run
    this.run = null
    this.gen++
    if (r) await killRun(r)
    this.setState(this.config.enabled ? 'offline' : 'disabled', this.config.enabled ? 'stopped' : null)
  }

  /**
   * Applies a new configuration. Changes that alter the ffmpeg command (url, detectFps,
   * maxDetectWidth, loop) restart the process; name/minFaceSize are taken as they are;
   * enabled=false stops ingest, enabled=true starts it.
   */
  update(config: CameraConfig): Promise<void> {
    if (config.id !== this.config.id)
      return Promise.reject(new Error(`camera id cannot change (${this.config.id} → ${config.id})`))
    // serialised: two quick edits must not interleave their stop/start
    return this.updates.run(() => this.applyUpdate(config))
  }

  private async applyUpdate(config: CameraConfig): Promise<void> {
    const prev = this.config
    this.config = { ...config }
    const restartNeeded =
      prev.url !== config.url ||
      (prev.detectUrl ?? null) !== (config.detectUrl ?? null) ||
      prev.detectFps !== config.detectFps ||
      prev.maxDetectWidth !== config.maxDetectWidth ||
      prev.loop !== config.loop ||
      (prev.hwaccel ?? DEFAULT_DECODE.hwaccel) !== (config.hwaccel ?? DEFAULT_DECODE.hwaccel) ||
      (prev.keyframesOnly ?? false) !== (config.keyframesOnly ?? false)
    if (restartNeeded) this.hwFailed = false
    if (!config.enabled) {
      await this.stop()
      return
    }
    if (!this.running) {
      this.start()
      return
    }
    if (restartNeeded) {
      await this.stop()
      this.st = { ...this.st, width: null, height: null, lastFrameAt: null }
      this.start()
    }
  }

  // ---- process lifecycle -------------------------------------------------------------------

  private launch(): void {
    const gen = ++this.gen
    let path: string
    try {
      path = this.ffmpegPath ?? locateFfmpeg().path
    } catch (e) {
      this.fatal(`ffmpeg unavailable: ${(e as Error).message}`)
      return
    }
    this.ffmpegPath = path
    let url: ClassifiedUrl
    let detectUrl: ClassifiedUrl | null
    try {
      url = classifyUrl(this.config.url)
      detectUrl = this.config.detectUrl ? classifyUrl(this.config.detectUrl) : null
    } catch (e) {
      // a malformed URL does not heal by retrying: stay in error until update()
      this.fatal(e instanceof CameraUrlError ? e.message : redactUrl(String(e)))
      return
    }
    void (async () => {
      let checked: ClassifiedUrl
      let checkedDetect: ClassifiedUrl | null = null
      try {
        checked = await applyPolicy(url, this.policy)
        // the detect stream is a second input of the same ffmpeg: the same allow-list applies
        if (detectUrl) checkedDetect = await applyPolicy(detectUrl, this.policy)
      } catch (e) {
        if (gen !== this.gen || !this.running) return
        // a file may appear later (a mounted share, a recording still being copied): retry that one
        if (e instanceof SourceMissingError) this.failRun(e.message)
        else this.fatal(e instanceof CameraUrlError ? e.message : redactUrl(String(e)))
        return
      }
      let info: FfmpegInfo
      try {
        info = await currentFfmpeg(path)
      } catch (e) {
        if (gen === this.gen && this.running) this.fatal(`ffmpeg unusable: ${redactUrl((e as Error).message)}`)
        return
      }
      if (gen === this.gen && this.running) this.spawnRun(gen, info, checked, checkedDetect)
    })()
  }

  /** Decoder options of the next run: the camera's choice, minus hardware once that failed. */
  private decodeOptions(): DecodeOptions {
    const c = this.config
    return {
      ...DEFAULT_DECODE,
      threads: this.opts.decodeThreads,
      hwaccel: this.hwFailed ? 'off' : (c.hwaccel ?? DEFAULT_DECODE.hwaccel),
      keyframesOnly: c.keyframesOnly ?? false
    }
  }

  /**
   * One ffmpeg, two outputs: raw frames for detection (pipe:1) and the tile's MJPEG (pipe:3). With
   * a detect stream (the camera's sub-stream, Frigate's "roles") it reads two inputs: detection
   * from input 0, the tile from input 1 (the main stream), each decoded once.
   */
  private spawnRun(gen: number, info: FfmpegInfo, url: ClassifiedUrl, detectUrl: ClassifiedUrl | null): void {
    const c = this.config
    const decode = this.decodeOptions()
    const opened = (u: ClassifiedUrl, d: DecodeOptions): string[] => {
      const input = inputArgs(u, {
        loop: c.loop,
        timeoutMs: this.opts.ioTimeoutMs,
        rtspTimeoutOption: info.rtspTimeoutOption
      })
      // decoder options apply to the next input: insert them right before its -i
      const at = input.lastIndexOf('-i')
      return [...input.slice(0, at), ...decodeArgs(d), ...input.slice(at)]
    }
    const inputs = detectUrl
      ? // keyframes-only decoding is for detection; the view stream keeps its full rate
        [...opened(detectUrl, decode), ...opened(url, { ...decode, keyframesOnly: false })]
      : opened(url, decode)
    const viewInput = detectUrl ? '1:v:0' : '0:v:0'
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'info',
      ...inputs,
      '-map',
      '0:v:0',
      '-vf',
      `fps=fps=${fmtNum(c.detectFps)},${scaleFilter(c.maxDetectWidth)}`,
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
      '-map',
      viewInput,
      '-vf',
      `fps=fps=${fmtNum(this.opts.previewFps)},${scaleFilter(this.opts.previewWidth)}`,
      '-c:v',
      'mjpeg',
      '-q:v',
      String(this.opts.previewQuality),
      '-f',
      'mjpeg',
      'pipe:3'
    ]
    this.log(`[${c.id}] ffmpeg ${args.map((a) => redactUrl(a)).join(' ')}`)
    const proc = spawn(info.path, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], windowsHide: true })
    this.counters.spawns++
    let resolveClosed: () => void = () => {}
    const closed = new Promise<void>((res) => (resolveClosed = res))
    const run: Run = {
      gen,
      proc,
      stderr: new StderrReader(),
      frames: new RawFrameAssembler(),
      jpegs: new JpegSplitter(),
      startedAt: Date.now(),
      lastActivityAt: null,
      frameSize: null,
      scale: 1,
      sourceSize: null,
      closed,
      killed: false,
      decode,
      decoderKnown: false
    }
    this.run = run
    let spawnError: Error | null = null
    let done = false
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return
      done = true
      resolveClosed()
      this.onExit(run, code, signal, spawnError)
    }
    proc.on('error', (e) => {
      spawnError = e
      // 'close' does not always follow a failed spawn
      if (proc.pid === undefined) finish(null, null)
    })
    proc.on('close', (code, signal) => finish(code, signal))

    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (s: string) => {
      for (const line of run.stderr.push(s)) this.log(`[${c.id}] ${line}`)
      this.maybeLearnDecoder(run)
      this.maybeLearnSize(run)
    })
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (run.gen !== this.gen) return
      this.maybeLearnSize(run)
      let frames: Uint8Array[]
      try {
        frames = run.frames.push(chunk)
      } catch (e) {
        this.abortRun(run, (e as Error).message)
        return
      }
      for (const f of frames) this.onFrame(run, f)
    })
    const preview = proc.stdio[3] as Readable | null | undefined
    preview?.on('data', (chunk: Buffer) => {
      if (run.gen !== this.gen) return
      const at = Date.now()
      for (const jpeg of run.jpegs.push(chunk)) {
        run.lastActivityAt = at
        this.counters.previews++
        this.safeEmit('preview', c.id, jpeg, at)
      }
    })
    // a consumer that throws must not take the pipes down with an unhandled 'error'
    for (const s of [proc.stdout, proc.stderr, preview]) s?.on('error', () => {})
  }

  private maybeLearnDecoder(run: Run): void {
    if (run.decoderKnown || run.gen !== this.gen) return
    const d = describeDecoder(run.stderr.lines(), run.decode)
    if (d !== null && d !== this.st.decoder) {
      this.st.decoder = d
      this.emitStatus(false)
    }
    // ffmpeg reports the hwaccel outcome before it maps streams; the first output size comes later
    if (run.frameSize) run.decoderKnown = true
  }

  private maybeLearnSize(run: Run): void {
    if (run.frameSize) return
    const out = run.stderr.outputSizes.get(0)
    if (!out) return
    run.frameSize = out
    const src = displaySize(run.stderr.inputSize, run.stderr.inputRotation, out)
    run.sourceSize = src
    run.scale = src.width / out.width
    let frames: Uint8Array[]
    try {
      frames = run.frames.setFrameBytes(out.width * out.height * 3)
    } catch (e) {
      this.abortRun(run, (e as Error).message)
      return
    }
    for (const f of frames) this.onFrame(run, f)
  }

  private onFrame(run: Run, data: Uint8Array): void {
    if (run.gen !== this.gen || !run.frameSize) return
    const at = Date.now()
    run.lastActivityAt = at
    const frame: CameraFrame = {
      cameraId: this.config.id,
      at,
      seq: ++this.seq,
      image: { data, width: run.frameSize.width, height: run.frameSize.height },
      scale: run.scale
    }
    if (this.latest) this.counters.dropped++
    this.latest = frame
    this.counters.delivered++
    this.meter.add(at)
    this.st.lastFrameAt = at
    if (this.st.state !== 'online') {
      this.onlineSince = at
      this.everOnline = true
      this.st.width = run.sourceSize?.width ?? null
      this.st.height = run.sourceSize?.height ?? null
      this.setState('online', null)
    }
    this.safeEmit('frame', frame)
  }

  /** A throwing listener must not unwind into the pipe handlers and kill the main process. */
  private safeEmit<E extends keyof CameraSourceEvents>(event: E, ...args: Parameters<Listener<E>>): void {
    try {
      this.emit(event, ...args)
    } catch (e) {
      this.logger.warn(`[${this.config.id}] ${event} listener threw: ${redactUrl(String(e))}`)
    }
  }

  private onExit(run: Run, code: number | null, signal: NodeJS.Signals | null, spawnError: Error | null): void {
    run.stderr.end()
    if (run.gen !== this.gen || !this.running || run.killed) return
    this.run = null
    this.latest = null
    if (spawnError) {
      this.failRun(`cannot start ffmpeg: ${redactUrl(spawnError.message)}`)
      return
    }
    const url = safeClassify(this.config.url)
    const hadFrames = run.lastActivityAt !== null
    if (!hadFrames && run.decode.hwaccel !== 'off' && !this.hwFailed) {
      // a GPU decoder that cannot open this stream must not keep the camera dark: software next time
      this.hwFailed = true
      this.logger.warn(
        `[${this.config.id}] hardware decoding (${run.decode.hwaccel}) failed; retrying with software decoding`
      )
    }
    if (url?.kind === 'file' && !this.config.loop && code === 0 && hadFrames) {
      // a non-looping file that played to its end is finished, not broken
      this.meter.reset()
      this.setState('offline', 'end of file')
      return
    }
    const raw =
      reasonFromStderr(run.stderr.lines()) ??
      (code === 0 ? 'stream ended' : signal ? `ffmpeg killed by ${signal}` : `ffmpeg exited with code ${String(code)}`)
    const reason = url ? publicReason(raw, url.kind) : raw
    this.logger.warn(
      `[${this.config.id}] ffmpeg exited (code ${String(code)}${signal ? `, ${signal}` : ''}): ${reason}`
    )
    this.failRun(reason)
  }

  /** A run failed: report, then try again after the backoff delay. */
  private failRun(reason: string): void {
    this.meter.reset()
    this.setState(this.everOnline ? 'offline' : 'error', reason)
    this.failures++
    const delay = backoffDelay(this.failures, this.opts.backoff)
    this.clearRestart()
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null
      if (!this.running) return
      this.st.restarts++
      this.emitStatus(true)
      this.launch()
    }, delay)
    this.restartTimer.unref()
  }

  /** Configuration problems: no retry until the configuration changes. */
  private fatal(reason: string): void {
    this.gen++
    const r = this.run
    this.run = null
    if (r) void killRun(r)
    this.setState('error', reason)
  }

  private abortRun(run: Run, reason: string): void {
    if (run.gen !== this.gen) return
    this.run = null
    this.gen++
    void killRun(run)
    this.failRun(reason)
  }

  private onTick(): void {
    const r = this.run
    const now = Date.now()
    if (this.st.state === 'online' && this.onlineSince !== null && now - this.onlineSince >= STABLE_MS)
      this.failures = 0
    if (r && this.running) {
      const since = r.lastActivityAt ?? r.startedAt
      if (now - since > this.opts.watchdogMs) {
        const rawReason = reasonFromStderr(r.stderr.lines())
        const kind = safeClassify(this.config.url)?.kind
        const fromStderr = rawReason && kind ? publicReason(rawReason, kind) : rawReason
        const secs = Math.round(this.opts.watchdogMs / 1000)
        const reason = r.lastActivityAt === null ? (fromStderr ?? 'timeout') : `no frames for ${secs} s`
        this.logger.warn(`[${this.config.id}] watchdog: ${reason}`)
        this.abortRun(r, reason)
        return
      }
    }
    this.emitStatus(false)
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.restartTimer = null
  }

  private setState(state: CameraState, reason: string | null): void {
    this.st.state = state
    // status reasons are pushed to every client: no path through here may carry a credential
    this.st.reason = reason === null ? null : redactUrl(reason)
    this.emitStatus(false)
  }

  /** Emits when something the UI shows changed (fps to 0.1). */
  private emitStatus(force: boolean): void {
    const s = this.status()
    const key = JSON.stringify({ ...s, lastFrameAt: null })
    if (!force && key === this.lastEmitted) return
    this.lastEmitted = key
    this.safeEmit('status', s)
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3).replace(/0+$/, '')
}

function safeClassify(url: string): ClassifiedUrl | null {
  try {
    return classifyUrl(url)
  } catch {
    return null
  }
}

/**
 * Source size as displayed (what CameraFrame.scale maps back to). ffmpeg autorotates, so a
 * ±90° stream is decoded with swapped sides; when rotation metadata was missed, the aspect of
 * the output tells.
 */
export function displaySize(input: Size | null, rotation: number, output: Size): Size {
  if (!input) return output
  const swapped = Math.abs(Math.round(rotation / 90)) % 2 === 1
  if (swapped) return { width: input.height, height: input.width }
  const outAspect = output.width / output.height
  const inAspect = input.width / input.height
  const swAspect = input.height / input.width
  if (Math.abs(outAspect - swAspect) < Math.abs(outAspect - inAspect) * 0.5)
    return { width: input.height, height: input.width }
  return input
}

function killRun(run: Run): Promise<void> {
  run.killed = true
  const p = run.proc
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined)
    return run.closed.then(
      () => {},
      () => {}
    )
  p.kill('SIGTERM')
  const t = setTimeout(() => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  }, KILL_GRACE_MS)
  return run.closed.finally(() => clearTimeout(t))
}

// ---- one-shot probe ----------------------------------------------------------------------------

export interface TestCameraOptions {
  ffmpegPath?: string
  /** preview width, px (default 640) */
  width?: number
  /** which local files may be opened (default OPERATOR_POLICY: any, for CLI tools) */
  policy?: SourcePolicy
  /** bounds concurrent probes (default: the process-wide PROBES) */
  probes?: Semaphore
  /** probes allowed to wait for a slot before callers are told to retry (default 8) */
  maxQueued?: number
  /** network failures are answered no sooner than this after the call, ms (default 1500) */
  minFailMs?: number
}

/**
 * Every cameras.test of the process, whichever client asked, shares these slots: one probe is one
 * ffmpeg with a decoder, and 250 of them at once took 6 GB and a load of 15 on the review box.
 */
export const PROBES = new Semaphore(2)
export const PROBE_BUSY = 'too many camera tests are running; try again in a few seconds'

/**
 * Grabs one frame of `url` as a JPEG data URL (for the "test" button of the camera form).
 * Never throws: every failure comes back as { ok: false, error } with a human, redacted reason.
 */
export async function testCameraUrl(
  url: string,
  timeoutMs = 8000,
  opts: TestCameraOptions = {}
): Promise<CameraTestResult> {
  const fail = (error: string): CameraTestResult => ({ ok: false, width: null, height: null, preview: null, error })
  const t0 = Date.now()
  let src: ClassifiedUrl
  try {
    src = await applyPolicy(classifyUrl(url), opts.policy ?? OPERATOR_POLICY)
  } catch (e) {
    return fail(e instanceof CameraUrlError ? e.message : 'invalid camera URL')
  }
  const probes = opts.probes ?? PROBES
  if (probes.queued >= (opts.maxQueued ?? 8)) return fail(PROBE_BUSY)
  const release = await probes.acquire()
  let result: CameraTestResult
  try {
    result = await probe(src, timeoutMs, opts)
  } finally {
    release()
  }
  // fast refusals versus slow garbage would still tell ports apart by timing: pad network failures
  // (outside the semaphore, so padding costs no probe slot)
  const network = src.kind === 'rtsp' || src.kind === 'http'
  const pad = (opts.minFailMs ?? 1500) - (Date.now() - t0)
  if (!result.ok && network && pad > 0) await new Promise((r) => setTimeout(r, pad))
  return result
}

async function probe(src: ClassifiedUrl, timeoutMs: number, opts: TestCameraOptions): Promise<CameraTestResult> {
  const fail = (error: string): CameraTestResult => ({ ok: false, width: null, height: null, preview: null, error })
  let info: FfmpegInfo
  try {
    info = await currentFfmpeg(opts.ffmpegPath ?? locateFfmpeg())
  } catch (e) {
    return fail(`ffmpeg unavailable: ${redactUrl((e as Error).message)}`)
  }
  const args = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    ...inputArgs(src, {
      loop: false,
      realtime: false,
      timeoutMs: Math.min(5000, timeoutMs),
      rtspTimeoutOption: info.rtspTimeoutOption
    }),
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-vf',
    scaleFilter(opts.width ?? 640),
    '-c:v',
    'mjpeg',
    '-q:v',
    '4',
    '-f',
    'image2pipe',
    'pipe:1'
  ]
  return new Promise<CameraTestResult>((resolve) => {
    const proc = spawn(info.path, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
    const stderr = new StderrReader()
    const chunks: Buffer[] = []
    let bytes = 0
    let timedOut = false
    let settled = false
    const timer = setTimeout(() => {
      timedOut = true
      proc.kill('SIGKILL')
    }, timeoutMs)
    const settle = (r: CameraTestResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(r)
    }
    proc.stdout.on('data', (c: Buffer) => {
      bytes += c.length
      // one 640-px JPEG is far below this; more means something is not what we asked for
      if (bytes > 16 * 1024 * 1024) proc.kill('SIGKILL')
      else chunks.push(c)
    })
    proc.stderr.setEncoding('utf8')
    proc.stderr.on('data', (s: string) => void stderr.push(s))
    proc.on('error', (e) => settle(fail(`cannot start ffmpeg: ${redactUrl(e.message)}`)))
    proc.on('close', () => {
      stderr.end()
      const jpeg = Buffer.concat(chunks)
      const isJpeg = jpeg.length > 4 && jpeg[0] === 0xff && jpeg[1] === 0xd8
      if (isJpeg) {
        const out = stderr.outputSizes.get(0) ?? null
        const size = out ? displaySize(stderr.inputSize, stderr.inputRotation, out) : stderr.inputSize
        settle({
          ok: true,
          width: size?.width ?? null,
          height: size?.height ?? null,
          preview: `data:image/jpeg;base64,${jpeg.toString('base64')}`,
          error: null
        })
        return
      }
      const raw = reasonFromStderr(stderr.lines())
      const reason = raw === null ? null : publicReason(raw, src.kind)
      settle(
        fail(
          timedOut
            ? // what ffmpeg managed to say before the kill tells open ports from closed ones: dropped
              `timeout after ${Math.round(timeoutMs / 1000)} s`
            : (reason ?? publicReason('no video frame received', src.kind))
        )
      )
    })
  })
}
