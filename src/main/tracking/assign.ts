// Association math for the tracker: box overlap, embedding similarity and an optimal
// one-to-one assignment (Hungarian / Kuhn–Munkres). Pure functions.
import type { Box } from '../../shared/types'

// box overlap and similarity live in the engine's one math module; re-exported for the tracker
export { cosine, iou } from '../math/vector'

/** Distance between box centres divided by the mean box diagonal: scale-free motion measure. */
export function centreDistance(a: Box, b: Box): number {
  const dx = a.x + a.w / 2 - (b.x + b.w / 2)
  const dy = a.y + a.h / 2 - (b.y + b.h / 2)
  const diag = (Math.hypot(a.w, a.h) + Math.hypot(b.w, b.h)) / 2
  return diag > 0 ? Math.hypot(dx, dy) / diag : Infinity
}

/**
 * Minimum-cost one-to-one assignment of rows to columns (rectangular allowed).
 * Entries that are not finite, or above maxCost, are forbidden pairs and never returned.
 * Returns [row, col] pairs. O(n²·m) — trackers see a handful of faces per frame.
 */
export function assignMinCost(cost: readonly (readonly number[])[], maxCost = Infinity): Array<[number, number]> {
  const rows = cost.length
  const cols = rows ? (cost[0]?.length ?? 0) : 0
  if (!rows || !cols) return []
  for (const r of cost) if (r.length !== cols) throw new Error('cost matrix rows differ in length')
  // forbidden pairs get a cost larger than any sum of allowed ones, so they are only chosen
  // when nothing else is possible, and are then filtered out
  let maxAllowed = 0
  for (const r of cost)
    for (const c of r) if (Number.isFinite(c) && c <= maxCost) maxAllowed = Math.max(maxAllowed, Math.abs(c))
  const forbidden = (maxAllowed + 1) * (Math.min(rows, cols) + 1)
  const allowed = (c: number): boolean => Number.isFinite(c) && c <= maxCost
  const transpose = rows > cols
  const n = transpose ? cols : rows
  const m = transpose ? rows : cols
  const at = (i: number, j: number): number => {
    const c = transpose ? cost[j]![i]! : cost[i]![j]!
    return allowed(c) ? c : forbidden
  }
  const u = new Float64Array(n + 1)
  const v = new Float64Array(m + 1)
  const p = new Int32Array(m + 1) // p[j] = row (1-based) assigned to column j
  const way = new Int32Array(m + 1)
  for (let i = 1; i <= n; i++) {
    p[0] = i
    let j0 = 0
    const minv = new Float64Array(m + 1).fill(Infinity)
    const used = new Uint8Array(m + 1)
    do {
      used[j0] = 1
      const i0 = p[j0]!
      let delta = Infinity
      let j1 = 0
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue
        const cur = at(i0 - 1, j - 1) - u[i0]! - v[j]!
        if (cur < minv[j]!) {
          minv[j] = cur
          way[j] = j0
        }
        if (minv[j]! < delta) {
          delta = minv[j]!
          j1 = j
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta
          v[j] = v[j]! - delta
        } else {
          minv[j] = minv[j]! - delta
        }
      }
      j0 = j1
    } while (p[j0] !== 0)
    do {
      const j1 = way[j0]!
      p[j0] = p[j1]!
      j0 = j1
    } while (j0)
  }
  const out: Array<[number, number]> = []
  for (let j = 1; j <= m; j++) {
    const i = p[j]!
    if (!i) continue
    const [r, c] = transpose ? [j - 1, i - 1] : [i - 1, j - 1]
    if (allowed(cost[r]![c]!)) out.push([r, c])
  }
  return out.sort((a, b) => a[0] - b[0])
}
