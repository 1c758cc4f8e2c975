// The one rule that turns a similarity into a band, used by the engine's matcher and by every
// view that colours a score, so a bar and a badge can never disagree.
import type { Band, Thresholds } from './types'

/**
 * Band of a similarity. The person's own threshold, when set, replaces the global accept threshold;
 * the review threshold is always global. A NaN score is 'unknown'.
 */
export function bandOf(score: number, thresholds: Thresholds, personThreshold: number | null = null): Band {
  const accept = personThreshold ?? thresholds.accept
  if (score >= accept) return 'match'
  if (score >= thresholds.review) return 'review'
  return 'unknown'
}
