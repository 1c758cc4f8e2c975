import type { ApiError } from '@shared/api'
import type { AuditEntry, ReviewItem, ReviewStatus } from '@shared/types'
import { formatClock } from './format'

function detail(details: unknown, key: string): unknown {
  return typeof details === 'object' && details !== null ? (details as Record<string, unknown>)[key] : undefined
}

const STATUS_WORD: Record<ReviewStatus, string> = {
  pending: 'pending',
  confirmed: 'confirmed',
  rejected: 'rejected',
  reassigned: 'reassigned'
}

/** Who made the last decision on an item and when, from the item itself or the conflict details. */
export function lastDecision(
  item: ReviewItem | null,
  err?: ApiError
): { by: string | null; at: number | null; entry: AuditEntry | null } {
  const entry = item?.audit.length ? (item.audit[item.audit.length - 1] ?? null) : null
  const dBy = detail(err?.details, 'decidedBy')
  const dAt = detail(err?.details, 'decidedAt')
  const by = item?.decidedBy ?? entry?.operator ?? (typeof dBy === 'string' ? dBy : null)
  const at = item?.decidedAt ?? entry?.at ?? (typeof dAt === 'number' ? dAt : null)
  return { by, at, entry }
}

/**
 * The line shown on a card whose decision lost a race with another operator:
 * "Already decided by Ana at 14:03 (confirmed)". Falls back to the server's message when it
 * cannot tell who.
 */
export function conflictText(err: ApiError, current: ReviewItem | null): string {
  if (current === null && !detail(err.details, 'decidedBy')) {
    return err.message || 'Someone else changed this item first.'
  }
  const { by, at } = lastDecision(current, err)
  const who = by ? ` by ${by}` : ''
  const when = at !== null ? ` at ${formatClock(at)}` : ''
  if (current && current.status === 'pending') {
    return `Changed${who}${when} and pending again: the card now shows the latest version, decide again.`
  }
  const what = current ? ` (${STATUS_WORD[current.status]})` : ''
  return `Already decided${who}${when}${what}.`
}

/** Toast line after a decision: "Confirmed as Ana Lima". */
export function decisionText(item: ReviewItem, personName: (id: string) => string | null): string {
  const name = item.personId ? (personName(item.personId) ?? 'the selected person') : 'nobody'
  switch (item.status) {
    case 'confirmed':
      return `Confirmed as ${name}`
    case 'reassigned':
      return `Assigned to ${name}`
    case 'rejected':
      return 'Rejected'
    default:
      return 'Back to pending'
  }
}
