// When an event's person is a guess rather than a fact. Shared by the engine's queries and the
// console so "Howard?" in the table and the person filter agree.
import type { EventRecord } from './types'

/**
 * A guess: waiting for an operator (pending), or a review-band proposal nobody will be asked
 * about (below the quality gate, or the queue was full). Matches and operator decisions are facts.
 */
export function isUnconfirmed(e: Pick<EventRecord, 'band' | 'decision' | 'personId'>): boolean {
  if (e.personId === null) return false
  return e.decision === 'pending' || (e.band === 'review' && e.decision === 'auto')
}
