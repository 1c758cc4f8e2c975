// The face pipeline: detect → 68 landmarks → 5 points → similarity-aligned 112×112 crop →
// 512-d embedding, plus quality. Runs in-process; the worker pool wraps one per worker.
import type * as ort from 'onnxruntime-node'
import { Tensor } from 'onnxruntime-node'
import { ApiError } from '../../shared/api'
import type { Box, ExecutionProvider, Point, WorkerInfo } from '../../shared/types'
import type { AnalyzeOptions, AnalyzeResult, Analyzer, DetectedFace, RgbImage, Stage } from '../contracts'
import {
  ARCFACE_REF_112,
  type Affine,
  applyAffine,
  estimateSimilarity,
  invertAffine,
  mirrorRgb,
  similarityScale,
  warpAffineRgb
} from './align'
import { decodeImage } from './image'
import { landmarks68to5, unpackPoints } from './landmarks'
import { createSession, defaultModelsDir, verifyModels } from './models'
import { nms, type ScoredBox } from './nms'
import { faceQuality } from './quality'
import { cropResizeGrey, extractDownscaled, resamplingFor, resizeToChw, rgbToGrey, rgbToNormalisedChw } from './resize'
import { withResizedChw } from './simd-resize'
import { cropRgb, mergeDetections, tileRects } from './tiles'
import { iou, l2normalize, meanDirection } from '../math/vector'

export const DETECT_W = 320
export const DETECT_H = 240
const DETECT_DIMS: readonly number[] = [1, 3, DETECT_H, DETECT_W]
const LANDMARK_SIZE = 64
const ALIGN_SIZE = 112

/** Knobs chosen by `npm run eval` on lfw-subset; exposed so the eval can compare variants. */
export interface PipelineTuning {
  /** channel order fed to the detector */
  detectorInput: 'rgb' | 'bgr'
  scoreThreshold: number
  nmsIou: number
  topK: number
  /** landmark crop: square the detector box around its centre, then scale it by `landmarkScale` */
  landmarkSquare: boolean
  landmarkScale: number
  /** vertical shift of the landmark crop centre, in box heights (detector boxes sit high on the face) */
  landmarkShiftY: number
  detectorResize: 'auto' | 'bilinear' | 'area'
  /** channel order fed to the recogniser */
  featureInput: 'rgb' | 'bgr'
  /**
   * Photos only (analyzeEncoded): when no face is found, detect again on the image padded by this
   * fraction of its longer side. Tightly cropped portraits (face filling the frame) are outside
   * what the detector was trained on and are found once there is background around them.
   * 0 disables. Camera frames never pay for the retry.
   */
  padRetry: number
}

/**
 * Measured with `npm run eval -- --tune key=value` (no flip), compared on d′ of the genuine vs
 * impostor similarity distributions because pair accuracy saturates at 1:
 *   featureInput bgr vs rgb: lfw d′ 6.99 vs 6.14 (accuracy 1.0 vs 0.9994), impostor max 0.316 vs
 *     0.357 — the recogniser was evidently trained on BGR crops, as the reference JS fed it.
 *   detectorInput rgb vs bgr: lfw 6.99 vs 7.04, same faces and boxes on the scenes: no real
 *     difference, so the documented RGB stays.
 *   landmarkSquare: lfw 6.99 → 7.00, gallery-bbt 6.19 → 6.56; shifting the square down 5 % of
 *     the box: lfw 7.15, bbt 6.75. Scale 0.9/1.1/1.2, shift −0.05/0.1/0.15 and a second landmark
 *     pass re-centred on the first pass's points were all equal or worse.
 *   flipAugment (per call): lfw 7.15 → 7.25, bbt 6.75 → 6.90 for a second embed run per face.
 */
export const DEFAULT_TUNING: PipelineTuning = {
  detectorInput: 'rgb',
  scoreThreshold: 0.65,
  nmsIou: 0.4,
  topK: 750,
  landmarkSquare: true,
  landmarkScale: 1,
  landmarkShiftY: 0.05,
  detectorResize: 'auto',
  featureInput: 'bgr',
  padRetry: 0.25
}

export interface PipelineOptions {
  modelsDir?: string
  provider?: ExecutionProvider
  threads?: number
  tuning?: Partial<PipelineTuning>
  /** reported in AnalyzeResult.workerId and workers() (the pool sets it per worker) */
  workerId?: number
}

/** A detector hit in image coordinates before landmarks and embedding. */
export interface RawDetection {
  box: Box
  score: number
}

function now(): number {
  return performance.now()
}

/** Fills an NCHW float tensor with (v − 127) / 128 in the requested channel order. */
export function toNormalisedChw(img: RgbImage, order: 'rgb' | 'bgr', out?: Float32Array): Float32Array {
  return rgbToNormalisedChw(img, order, out)
}

/**
 * Float32 input tensors of one shape, reused from call to call: a fresh detector input is ~1 MB
 * that the allocator zeroes and the GC later frees, on every frame. A tensor is taken for the
 * duration of one session.run; a concurrent caller (in-process use without the pool) simply
 * gets another one, so reuse never lets two runs share a buffer.
 */
export class InputTensors {
  private readonly spare: Tensor[] = []
  private readonly size: number
  constructor(private readonly dims: readonly number[]) {
    this.size = dims.reduce((a, b) => a * b, 1)
  }

  take(): { tensor: Tensor; data: Float32Array } {
    const tensor = this.spare.pop() ?? new Tensor('float32', new Float32Array(this.size), this.dims)
    return { tensor, data: tensor.data as Float32Array }
  }

  give(t: Tensor): void {
    // two spares cover the usual overlap; more would only hold memory after a burst
    if (this.spare.length < 2) this.spare.push(t)
  }
}

/** Decodes the detector outputs: score filter, top-k, NMS, then corners → image-pixel boxes. */
export function decodeDetections(
  scores: Float32Array,
  boxes: Float32Array,
  imgW: number,
  imgH: number,
  t: Pick<PipelineTuning, 'scoreThreshold' | 'nmsIou' | 'topK'>
): RawDetection[] {
  const n = scores.length / 2
  const cand: ScoredBox[] = []
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1]
    if (s < t.scoreThreshold) continue
    cand.push({ x1: boxes[4 * i], y1: boxes[4 * i + 1], x2: boxes[4 * i + 2], y2: boxes[4 * i + 3], score: s })
  }
  return nms(cand, t.nmsIou, t.topK)
    .map((b) => {
      const x1 = Math.max(0, Math.min(imgW, b.x1 * imgW))
      const y1 = Math.max(0, Math.min(imgH, b.y1 * imgH))
      const x2 = Math.max(0, Math.min(imgW, b.x2 * imgW))
      const y2 = Math.max(0, Math.min(imgH, b.y2 * imgH))
      return { box: { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }, score: b.score }
    })
    .filter((d) => d.box.w > 1 && d.box.h > 1)
}

/** The landmark crop rectangle for a detector box under the given tuning. */
export function landmarkRect(
  box: Box,
  t: Pick<PipelineTuning, 'landmarkSquare' | 'landmarkScale' | 'landmarkShiftY'>
): Box {
  const cx = box.x + box.w / 2
  const cy = box.y + box.h / 2 + t.landmarkShiftY * box.h
  const w = (t.landmarkSquare ? Math.max(box.w, box.h) : box.w) * t.landmarkScale
  const h = (t.landmarkSquare ? Math.max(box.w, box.h) : box.h) * t.landmarkScale
  return { x: cx - w / 2, y: cy - h / 2, w, h }
}

/**
 * The aligned 112×112 crop. When the face is more than twice the crop size, the region is first
 * box-downscaled by an integer factor so bilinear sampling does not alias (large enrolment
 * photos would otherwise embed noticeably differently from camera-sized faces).
 */
export function alignFace(img: RgbImage, l5: readonly Point[]): { crop: RgbImage; transform: Affine } {
  const m = estimateSimilarity(l5, ARCFACE_REF_112)
  const s = similarityScale(m)
  if (s >= 0.5) return { crop: warpAffineRgb(img, m, ALIGN_SIZE, ALIGN_SIZE), transform: m }
  const k = Math.floor(1 / (2 * s))
  const inv = invertAffine(m)
  const corners = [
    { x: 0, y: 0 },
    { x: ALIGN_SIZE, y: 0 },
    { x: 0, y: ALIGN_SIZE },
    { x: ALIGN_SIZE, y: ALIGN_SIZE }
  ].map((p) => applyAffine(inv, p))
  const xs = corners.map((p) => p.x)
  const ys = corners.map((p) => p.y)
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - k)
  const y0 = Math.max(0, Math.floor(Math.min(...ys)) - k)
  const x1 = Math.min(img.width, Math.ceil(Math.max(...xs)) + k)
  const y1 = Math.min(img.height, Math.ceil(Math.max(...ys)) + k)
  if (x1 - x0 < 2 * k || y1 - y0 < 2 * k) return { crop: warpAffineRgb(img, m, ALIGN_SIZE, ALIGN_SIZE), transform: m }
  const small = extractDownscaled(img, { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, k)
  // Pixel centres: source pixel (x0 + k·u + (k−1)/2) becomes small pixel u.
  const l5s = l5.map((p) => ({ x: (p.x - x0 - (k - 1) / 2) / k, y: (p.y - y0 - (k - 1) / 2) / k }))
  const ms = estimateSimilarity(l5s, ARCFACE_REF_112)
  return { crop: warpAffineRgb(small, ms, ALIGN_SIZE, ALIGN_SIZE), transform: m }
}

export class FacePipeline implements Analyzer {
  readonly provider: ExecutionProvider
  readonly requestedProvider: ExecutionProvider
  /** why the requested provider was not obtained, or null */
  readonly fallbackReason: string | null
  readonly tuning: PipelineTuning
  readonly workerId: number
  private jobsDone = 0
  private inFlight = 0
  private closed = false
  private readonly detectInput = new InputTensors(DETECT_DIMS)
  private readonly landmarkInput = new InputTensors([1, 1, LANDMARK_SIZE, LANDMARK_SIZE])
  private readonly featureInput = new InputTensors([1, 3, ALIGN_SIZE, ALIGN_SIZE])

  private constructor(
    private readonly detect: ort.InferenceSession,
    private readonly landmark: ort.InferenceSession,
    private readonly feature: ort.InferenceSession,
    info: {
      provider: ExecutionProvider
      requested: ExecutionProvider
      fallbackReason: string | null
      tuning: PipelineTuning
      workerId: number
    }
  ) {
    this.provider = info.provider
    this.requestedProvider = info.requested
    this.fallbackReason = info.fallbackReason
    this.tuning = info.tuning
    this.workerId = info.workerId
  }

  static async create(opts: PipelineOptions = {}): Promise<FacePipeline> {
    const dir = opts.modelsDir ?? defaultModelsDir()
    const paths = await verifyModels(dir, ['detect', 'landmark', 'feature'])
    const requested = opts.provider ?? 'cpu'
    const so = { provider: requested, threads: opts.threads ?? 1 }
    const det = await createSession(paths.detect, so)
    // Once the first model fell back there is no point retrying the same provider for the others.
    const so2 = { ...so, provider: det.provider }
    const lm = await createSession(paths.landmark, so2)
    const fe = await createSession(paths.feature, so2)
    const provider = lm.provider === det.provider && fe.provider === det.provider ? det.provider : 'cpu'
    return new FacePipeline(det.session, lm.session, fe.session, {
      provider,
      requested,
      fallbackReason: det.fallbackReason ?? lm.fallbackReason ?? fe.fallbackReason,
      tuning: { ...DEFAULT_TUNING, ...opts.tuning },
      workerId: opts.workerId ?? 0
    })
  }

  async analyzeEncoded(bytes: Uint8Array, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
    this.assertOpen()
    const t0 = now()
    const img = await decodeImage(bytes)
    const decodeMs = now() - t0
    let res = await this.analyzeRaw(img, opts)
    if (res.faces.length === 0 && this.tuning.padRetry > 0 && (opts.maxFaces ?? 1) > 0) {
      const pad = Math.round(this.tuning.padRetry * Math.max(img.width, img.height))
      const retry = await this.analyzeRaw(padImage(img, pad), opts)
      res = shiftResult(retry, pad, img.width, img.height, res)
    }
    res.timings.decode = decodeMs
    return res
  }

  async analyzeRaw(img: RgbImage, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
    this.assertOpen()
    validateRgb(img)
    this.inFlight++
    try {
      const res = await this.run(img, opts)
      this.jobsDone++
      return res
    } finally {
      this.inFlight--
    }
  }

  /**
   * Detector over the whole frame and, with tiles > 1, over each of its n×n overlapping tiles
   * (small faces in big frames, see tiles.ts); image coordinates, merged.
   */
  async detectTiled(
    img: RgbImage,
    tiles: number,
    scoreThreshold?: number
  ): Promise<{ faces: RawDetection[]; modelMs: number }> {
    const whole = await this.detectFaces(img, scoreThreshold)
    if (tiles <= 1) return whole
    let modelMs = whole.modelMs
    const all = [...whole.faces]
    for (const r of tileRects(img.width, img.height, tiles)) {
      const part = await this.detectFaces(cropRgb(img, r), scoreThreshold)
      modelMs += part.modelMs
      for (const f of part.faces) all.push({ ...f, box: { ...f.box, x: f.box.x + r.x, y: f.box.y + r.y } })
    }
    return { faces: mergeDetections(all), modelMs }
  }

  /** Detector only, in image coordinates; exposed for tests and the eval's diagnostics. */
  async detectFaces(img: RgbImage, scoreThreshold?: number): Promise<{ faces: RawDetection[]; modelMs: number }> {
    validateRgb(img)
    const t = this.tuning
    const timedRun = async (input: Tensor): Promise<{ out: ort.InferenceSession.OnnxValueMapType; ms: number }> => {
      const r0 = now()
      const out = await this.detect.run({ input })
      return { out, ms: now() - r0 }
    }
    // The SIMD kernel's output is used in place (no 0.9 MB copy); otherwise a reused tensor.
    let ran =
      resamplingFor(img, DETECT_W, DETECT_H, t.detectorResize) === 'bilinear'
        ? (
            await withResizedChw(img, DETECT_W, DETECT_H, t.detectorInput, (chw) =>
              timedRun(new Tensor('float32', chw, DETECT_DIMS))
            )
          )?.value
        : undefined
    if (!ran) {
      const input = this.detectInput.take()
      try {
        resizeToChw(img, DETECT_W, DETECT_H, t.detectorInput, t.detectorResize, input.data)
        ran = await timedRun(input.tensor)
      } finally {
        this.detectInput.give(input.tensor)
      }
    }
    const { out, ms: modelMs } = ran
    const scores = out.scores.data as Float32Array
    const boxes = out.boxes.data as Float32Array
    const faces = decodeDetections(scores, boxes, img.width, img.height, {
      ...t,
      scoreThreshold: scoreThreshold ?? t.scoreThreshold
    })
    return { faces, modelMs }
  }

  /** 68 landmarks (image coordinates) for one detector box. */
  async landmarks68(img: RgbImage, box: Box): Promise<{ points: Point[]; modelMs: number }> {
    const rect = landmarkRect(box, this.tuning)
    const grey = cropResizeGrey(img, rect, LANDMARK_SIZE, LANDMARK_SIZE)
    const input = this.landmarkInput.take()
    let out: ort.InferenceSession.OnnxValueMapType
    let modelMs: number
    try {
      const f = input.data
      for (let i = 0; i < f.length; i++) f[i] = grey.data[i] / 256
      const r0 = now()
      out = await this.landmark.run({ input: input.tensor })
      modelMs = now() - r0
    } finally {
      this.landmarkInput.give(input.tensor)
    }
    const pts = unpackPoints(out.output.data as Float32Array).map((p) => ({
      x: rect.x + p.x * rect.w,
      y: rect.y + p.y * rect.h
    }))
    return { points: pts, modelMs }
  }

  /** Embedding of an aligned 112×112 crop, L2-normalised. */
  async embedAligned(crop: RgbImage, flip: boolean): Promise<{ embedding: Float32Array; modelMs: number }> {
    let modelMs = 0
    const one = async (c: RgbImage): Promise<Float32Array> => {
      const input = this.featureInput.take()
      try {
        rgbToNormalisedChw(c, this.tuning.featureInput, input.data)
        const r0 = now()
        const out = await this.feature.run({ input: input.tensor })
        modelMs += now() - r0
        return new Float32Array(out.output.data as Float32Array)
      } finally {
        this.featureInput.give(input.tensor)
      }
    }
    const a = await one(crop)
    const embedding = flip ? meanDirection([a, await one(mirrorRgb(crop))]) : l2normalize(a)
    return { embedding, modelMs }
  }

  private async run(img: RgbImage, opts: AnalyzeOptions): Promise<AnalyzeResult> {
    const timings: Partial<Record<Stage, number>> = {}
    const add = (s: Stage, ms: number): void => {
      timings[s] = (timings[s] ?? 0) + ms
    }
    let modelMs = 0
    const minFace = opts.minFaceSize ?? 20
    const embed = opts.embed ?? true

    let t0 = now()
    const det = await this.detectTiled(img, Math.min(4, Math.max(1, Math.floor(opts.tiles ?? 1))), opts.scoreThreshold)
    modelMs += det.modelMs
    let found = det.faces.filter((f) => Math.min(f.box.w, f.box.h) >= minFace)
    found.sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h)
    if (opts.maxFaces !== undefined) found = found.slice(0, Math.max(0, opts.maxFaces))
    add('detect', now() - t0)
    timings.landmarks = 0
    timings.align = 0
    timings.quality = 0
    if (embed) timings.embed = 0

    const faces: DetectedFace[] = []
    for (const d of found) {
      t0 = now()
      const lm = await this.landmarks68(img, d.box)
      modelMs += lm.modelMs
      const l5 = landmarks68to5(lm.points)
      add('landmarks', now() - t0)

      t0 = now()
      const { crop } = alignFace(img, l5)
      add('align', now() - t0)

      t0 = now()
      const quality = faceQuality({
        sizePx: Math.min(d.box.w, d.box.h),
        detScore: d.score,
        alignedGrey: rgbToGrey(crop),
        landmarks5: l5
      })
      add('quality', now() - t0)

      let embedding: Float32Array | null = null
      if (embed && !nearAny(d.box, opts.skipEmbedNear)) {
        t0 = now()
        const e = await this.embedAligned(crop, opts.flipAugment ?? false)
        modelMs += e.modelMs
        embedding = e.embedding
        add('embed', now() - t0)
      }
      const face: DetectedFace = { box: d.box, detScore: d.score, landmarks5: l5, quality, embedding }
      if (opts.returnCrops) face.alignedCrop = crop
      faces.push(face)
    }
    return { width: img.width, height: img.height, faces, timings, modelMs, workerId: this.workerId }
  }

  workers(): WorkerInfo[] {
    return [
      {
        id: this.workerId,
        pid: process.pid,
        requested: this.requestedProvider,
        provider: this.provider,
        state: this.closed ? 'stopped' : this.inFlight > 0 ? 'busy' : 'ready',
        jobsDone: this.jobsDone
      }
    ]
  }

  queueDepth(): number {
    return Math.max(0, this.inFlight - 1)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([this.detect.release(), this.landmark.release(), this.feature.release()])
  }

  private assertOpen(): void {
    if (this.closed) throw new ApiError('internal', 'the face pipeline has been closed')
  }
}

/** The image on a mid-grey canvas with `pad` pixels on every side. */
export function padImage(img: RgbImage, pad: number): RgbImage {
  const width = img.width + 2 * pad
  const height = img.height + 2 * pad
  const data = new Uint8Array(width * height * 3).fill(127)
  const row = img.width * 3
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * row, (y + 1) * row), ((y + pad) * width + pad) * 3)
  }
  return { data, width, height }
}

/** Maps a result on the padded image back to the original, adding the first attempt's timings. */
function shiftResult(
  r: AnalyzeResult,
  pad: number,
  width: number,
  height: number,
  first: AnalyzeResult
): AnalyzeResult {
  const timings = { ...first.timings }
  for (const [k, v] of Object.entries(r.timings) as [Stage, number][]) timings[k] = (timings[k] ?? 0) + v
  const faces = r.faces.map((f) => {
    const x1 = Math.max(0, f.box.x - pad)
    const y1 = Math.max(0, f.box.y - pad)
    const x2 = Math.min(width, f.box.x + f.box.w - pad)
    const y2 = Math.min(height, f.box.y + f.box.h - pad)
    return {
      ...f,
      box: { x: x1, y: y1, w: Math.max(0, x2 - x1), h: Math.max(0, y2 - y1) },
      landmarks5: f.landmarks5.map((p) => ({ x: p.x - pad, y: p.y - pad }))
    }
  })
  return { ...r, width, height, faces, timings, modelMs: r.modelMs + first.modelMs }
}

function validateRgb(img: RgbImage): void {
  if (
    !img ||
    !(img.data instanceof Uint8Array) ||
    !Number.isInteger(img.width) ||
    !Number.isInteger(img.height) ||
    img.width < 1 ||
    img.height < 1
  ) {
    throw new ApiError('bad_image', 'raw frame must have positive integer width/height and a Uint8Array of RGB bytes')
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new ApiError(
      'bad_image',
      `raw frame is ${img.data.length} bytes, expected ${img.width}×${img.height}×3 = ${img.width * img.height * 3}`
    )
  }
}

/** The live tracker's "no new embedding needed" boxes: a face on one of them is not embedded. */
export function nearAny(box: Box, boxes: readonly Box[] | undefined, minIou = 0.5): boolean {
  if (!boxes) return false
  return boxes.some((b) => iou(box, b) >= minIou)
}
