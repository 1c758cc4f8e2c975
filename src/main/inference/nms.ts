// Box overlap and greedy non-maximum suppression for the detector output.

/** Corner form used internally by the detector: x1,y1 top-left, x2,y2 bottom-right. */
export interface ScoredBox {
  x1: number
  y1: number
  x2: number
  y2: number
  score: number
}

export function iou(a: Omit<ScoredBox, 'score'>, b: Omit<ScoredBox, 'score'>): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1)
  if (iw <= 0 || ih <= 0) return 0
  const inter = iw * ih
  const areaA = Math.max(0, a.x2 - a.x1) * Math.max(0, a.y2 - a.y1)
  const areaB = Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1)
  const union = areaA + areaB - inter
  return union <= 0 ? 0 : inter / union
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
      if (!suppressed[j] && iou(cur, sorted[j]) > iouThreshold) suppressed[j] = 1
    }
  }
  return kept
}
