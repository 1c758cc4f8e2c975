// Greedy non-maximum suppression for the detector output.
import { iouCorners } from '../math/vector'

/** Corner form used internally by the detector: x1,y1 top-left, x2,y2 bottom-right. */
export interface ScoredBox {
  x1: number
  y1: number
  x2: number
  y2: number
  score: number
}

/**
 * Greedy NMS: highest score first, drop anything overlapping a kept box by more than iouThreshold.
 * topK bounds the candidates considered (the reference used 750) so a noisy frame cannot make
 * this quadratic loop expensive.
 */
export function nms(boxes: ScoredBox[], iouThreshold: number, topK = Infinity): ScoredBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score).slice(0, topK)
  const kept: ScoredBox[] = []
  const suppressed = new Uint8Array(sorted.length)
  for (let i = 0; i < sorted.length; i++) {
    if (suppressed[i]) continue
    const cur = sorted[i]
    kept.push(cur)
    for (let j = i + 1; j < sorted.length; j++) {
      if (!suppressed[j] && iouCorners(cur, sorted[j]) > iouThreshold) suppressed[j] = 1
    }
  }
  return kept
}
