// Face quality: cheap signals combined into one 0..1 score used to rank crops and gate enrolment.
// Pose comes from the 5-landmark geometry rather than fr_pose.onnx: that model costs a 224×224
// forward pass per face (several times the landmark model), while the landmark geometry is free
// and good enough to tell a frontal face from a profile, which is all ranking and gating need.
import type { FaceQuality, Point } from '../../shared/types'
import type { GreyImage } from './resize'

/** Variance of the 4-neighbour Laplacian over the interior; higher = sharper. */
export function laplacianVariance(img: GreyImage): number {
  const { data, width: W, height: H } = img
  if (W < 3 || H < 3) return 0
  let sum = 0
  let sumSq = 0
  let n = 0
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x
      const l = data[i - 1] + data[i + 1] + data[i - W] + data[i + W] - 4 * data[i]
      sum += l
      sumSq += l * l
      n++
    }
  }
  const mean = sum / n
  return sumSq / n - mean * mean
}

// The two depth constants are fitted so the angles agree with fr_pose.onnx (Hopenet-style, trained
// on 300W-LP) on lfw-subset + gallery-bbt: yaw r = 0.97, pitch r = 0.83 against that model.
/** Effective nose-tip depth in front of the eye/mouth plane, in interocular distances. */
const NOSE_DEPTH_PER_IOD = 0.62
/** Nose position between the eye line and the mouth line of a frontal face (ArcFace template). */
const FRONTAL_NOSE_T = (71.7366 - 51.5989) / (92.2848 - 51.5989)
/** Effective nose depth for pitch, in eye-line-to-mouth-line distances. */
const NOSE_DEPTH_PER_EYE_MOUTH = 0.9

const toDeg = (r: number): number => (r * 180) / Math.PI

/**
 * Yaw and pitch in degrees from 5 landmarks (left eye, right eye, nose, left mouth, right mouth).
 * The points are rotated so the eye line is horizontal (removing roll), then the nose tip's
 * offset from the eye–mouth midline gives yaw and its height between eye and mouth lines gives
 * pitch, assuming a nose that protrudes a fixed fraction of the face size. Signs follow fr_pose:
 * positive yaw = nose towards image LEFT, positive pitch = face tilted up.
 */
export function estimateYawPitch(l5: readonly Point[]): { yawDeg: number; pitchDeg: number; rollDeg: number } {
  if (l5.length !== 5) throw new Error(`expected 5 landmarks, got ${l5.length}`)
  const [le, re, nose, lm, rm] = l5
  const roll = Math.atan2(re.y - le.y, re.x - le.x)
  const c = Math.cos(-roll)
  const s = Math.sin(-roll)
  const rot = (p: Point): Point => ({ x: c * p.x - s * p.y, y: s * p.x + c * p.y })
  const [a, b, n, m1, m2] = [le, re, nose, lm, rm].map(rot)
  const iod = Math.hypot(b.x - a.x, b.y - a.y)
  const eye = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }
  const mouth = { x: (m1.x + m2.x) / 2, y: (m1.y + m2.y) / 2 }
  const eyeMouth = mouth.y - eye.y
  if (!(iod > 1e-6) || !(Math.abs(eyeMouth) > 1e-6)) return { yawDeg: 90, pitchDeg: 0, rollDeg: toDeg(roll) }
  const t = (n.y - eye.y) / eyeMouth
  const midX = eye.x + (mouth.x - eye.x) * t
  const yaw = Math.atan((midX - n.x) / (NOSE_DEPTH_PER_IOD * iod))
  const pitch = Math.atan((FRONTAL_NOSE_T - t) / NOSE_DEPTH_PER_EYE_MOUTH)
  return { yawDeg: toDeg(yaw), pitchDeg: toDeg(pitch), rollDeg: toDeg(roll) }
}

const ramp = (v: number, lo: number, hi: number): number => Math.min(1, Math.max(0, (v - lo) / (hi - lo)))

/** Where each factor of the aggregate reaches 0 and 1. */
export const QUALITY_RAMPS = {
  sizePx: [16, 80],
  detScore: [0.5, 0.95],
  /** Laplacian variance of the 112×112 aligned crop; LFW faces (JPEG, 250 px) sit around 100–600. */
  blur: [15, 120],
  /** |yaw| degrees where the factor is 1 and 0 */
  yaw: [15, 65],
  pitch: [15, 50]
} as const

/**
 * Geometric mean of the four factors (size, detector confidence, sharpness, frontalness): any one
 * bad factor pulls the score down, so a sharp profile or a blurred frontal face both rank low.
 */
export function aggregateQuality(q: Omit<FaceQuality, 'score'>): number {
  const R = QUALITY_RAMPS
  const size = ramp(q.sizePx, R.sizePx[0], R.sizePx[1])
  const det = ramp(q.detScore, R.detScore[0], R.detScore[1])
  const blur = ramp(q.blur, R.blur[0], R.blur[1])
  const pose =
    (1 - ramp(Math.abs(q.yawDeg), R.yaw[0], R.yaw[1])) * (1 - ramp(Math.abs(q.pitchDeg), R.pitch[0], R.pitch[1]))
  const g = Math.pow(size * det * blur * pose, 1 / 4)
  return Math.round(g * 1000) / 1000
}

export function faceQuality(input: {
  sizePx: number
  detScore: number
  alignedGrey: GreyImage
  landmarks5: readonly Point[]
}): FaceQuality {
  const blur = laplacianVariance(input.alignedGrey)
  const { yawDeg, pitchDeg } = estimateYawPitch(input.landmarks5)
  const base = { sizePx: input.sizePx, detScore: input.detScore, blur, yawDeg, pitchDeg }
  return { ...base, score: aggregateQuality(base) }
}
