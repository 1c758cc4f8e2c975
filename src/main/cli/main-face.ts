// Which face of an image a folder-per-person label is about, shared by the eval modes.
import type { AnalyzeResult, DetectedFace } from '../contracts'

/** With several faces, the one an annotator meant: large and near the centre. */
export function pickMainFace(res: AnalyzeResult): DetectedFace | null {
  let best: DetectedFace | null = null
  let bestRank = -Infinity
  const cx = res.width / 2
  const cy = res.height / 2
  const halfDiag = Math.hypot(cx, cy)
  for (const f of res.faces) {
    if (!f.embedding) continue
    const d = Math.hypot(f.box.x + f.box.w / 2 - cx, f.box.y + f.box.h / 2 - cy) / halfDiag
    const rank = f.box.w * f.box.h * (1 - d) ** 2
    if (rank > bestRank) {
      bestRank = rank
      best = f
    }
  }
  return best
}
