// Live video for the focused tile: the camera's view stream remuxed (never transcoded) to
// fragmented MP4 by ffmpeg `-c copy`, cut into init segment + fragments, and pushed to the page,
// which plays it with Media Source Extensions. Remuxing only rewraps packets: its CPU cost is a
// small fraction of decoding. A codec the page cannot play (H.265 in Chromium) is reported so the
// tile falls back to JPEG previews and says why.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { CameraConfig } from '../../shared/types'
import { ffmpegInfo, locateFfmpeg } from './ffmpeg'
import { classifyUrl, inputArgs } from './url'

export interface Mp4Piece {
  kind: 'init' | 'fragment'
  bytes: Buffer
}

/** Splits a fragmented MP4 byte stream into the init segment (ftyp+moov) and moof+mdat fragments. */
export class Mp4Fragmenter {
  private buf: Buffer = Buffer.alloc(0)
  private initParts: Buffer[] = []
  private initDone = false
  private moof: Buffer | null = null
  /** a box larger than this is not a camera's video fragment: the stream is garbage */
  static readonly MAX_BOX = 64 * 1024 * 1024

  push(chunk: Buffer): Mp4Piece[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const out: Mp4Piece[] = []
    for (;;) {
      if (this.buf.length < 8) break
      let size = this.buf.readUInt32BE(0)
      let header = 8
      if (size === 1) {
        if (this.buf.length < 16) break
        size = Number(this.buf.readBigUInt64BE(8))
        header = 16
      }
      if (size < header || size > Mp4Fragmenter.MAX_BOX) throw new Error(`bad MP4 box size ${size}`)
      if (this.buf.length < size) break
      const type = this.buf.toString('latin1', 4, 8)
      const box = this.buf.subarray(0, size)
      this.buf = this.buf.subarray(size)
      if (!this.initDone) {
        if (type === 'moof') {
          this.initDone = true
          out.push({ kind: 'init', bytes: Buffer.concat(this.initParts) })
          this.initParts = []
          this.moof = Buffer.from(box)
        } else this.initParts.push(Buffer.from(box))
        continue
      }
      if (type === 'moof') this.moof = Buffer.from(box)
      else if (type === 'mdat' && this.moof) {
        out.push({ kind: 'fragment', bytes: Buffer.concat([this.moof, box]) })
        this.moof = null
      }
    }
    return out
  }
}

/**
 * The MSE type of an init segment: `video/mp4; codecs="avc1.640028"` from its avcC box, or the
 * HEVC/other sample entry name when it is not H.264 (which the page will likely not play).
 */
export function mimeOfInit(init: Uint8Array): { mime: string; codec: string } {
  const b = Buffer.from(init.buffer, init.byteOffset, init.byteLength)
  const avcC = b.indexOf('avcC', 0, 'latin1')
  if (avcC >= 0 && avcC + 8 <= b.length) {
    const hex = (n: number): string => n.toString(16).padStart(2, '0')
    const codec = `avc1.${hex(b[avcC + 5]!)}${hex(b[avcC + 6]!)}${hex(b[avcC + 7]!)}`
    return { mime: `video/mp4; codecs="${codec}"`, codec }
  }
  for (const entry of ['hvc1', 'hev1', 'av01', 'vp09']) {
    if (b.indexOf(entry, 0, 'latin1') >= 0) return { mime: `video/mp4; codecs="${entry}"`, codec: entry }
  }
  return { mime: 'video/mp4', codec: 'unknown' }
}

export interface VideoChunk {
  cameraId: string
  mime: string
  /** init segment + one fragment: appending the init again is allowed in MSE, so a page can join anytime */
  data: Buffer
  seq: number
}

/** One ffmpeg -c copy per focused camera. Emits 'chunk' (VideoChunk) and 'end' (reason). */
export class VideoRemuxer extends EventEmitter {
  private proc: ChildProcess | null = null
  private seq = 0
  private init: Buffer | null = null
  private mime = 'video/mp4'
  stopped = false

  constructor(
    private readonly config: CameraConfig,
    private readonly ffmpegPath?: string
  ) {
    super()
  }

  async start(): Promise<void> {
    const info = await ffmpegInfo(this.ffmpegPath ?? locateFfmpeg().path)
    if (this.stopped) return
    const url = classifyUrl(this.config.url)
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'error',
      ...inputArgs(url, { loop: this.config.loop, rtspTimeoutOption: info.rtspTimeoutOption }),
      '-map',
      '0:v:0',
      '-c:v',
      'copy',
      '-an',
      '-f',
      'mp4',
      // a fragment every 250 ms (not only at keyframes): the page is at most that far behind
      '-movflags',
      'frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '250000',
      'pipe:1'
    ]
    const proc = spawn(info.path, args, { stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true })
    this.proc = proc
    const frag = new Mp4Fragmenter()
    proc.stdout?.on('data', (chunk: Buffer) => {
      let pieces: Mp4Piece[]
      try {
        pieces = frag.push(chunk)
      } catch (e) {
        this.emit('end', (e as Error).message)
        proc.kill('SIGKILL')
        return
      }
      for (const p of pieces) {
        if (p.kind === 'init') {
          this.init = p.bytes
          this.mime = mimeOfInit(p.bytes).mime
        } else if (this.init) {
          this.emit('chunk', {
            cameraId: this.config.id,
            mime: this.mime,
            data: Buffer.concat([this.init, p.bytes]),
            seq: ++this.seq
          } satisfies VideoChunk)
        }
      }
    })
    proc.stdout?.on('error', () => {})
    proc.on('error', (e) => this.emit('end', e.message))
    proc.on('close', (code) => {
      this.proc = null
      if (!this.stopped) this.emit('end', `ffmpeg exited with ${String(code)}`)
    })
  }

  pid(): number | null {
    return this.proc?.pid ?? null
  }

  stop(): void {
    this.stopped = true
    this.proc?.kill('SIGTERM')
  }
}
