// The review item's state machine, pure: no store, no clock, no I/O.
//
//   pending ──confirm──▶ confirmed          every decision quotes the version the operator saw;
//   pending ──reject───▶ rejected           a stale version or an already decided item is a
//   pending ──reassign─▶ reassigned         'conflict' naming who decided and when.
//   pending ──newPerson▶ reassigned         undo reverts the last decision still in effect,
//   (any decided) ──undo──▶ what it was      found by replaying the audit trail.
//
// The audit trail is append-only: an undo is itself an entry, so the history shows both.
import { ApiError } from '../../shared/api'
import type { AuditEntry, EventDecision, ReviewAction, ReviewItem, ReviewStatus } from '../../shared/types'

export interface Outcome {
  status: ReviewStatus
  personId: string | null
}

export interface Decision {
  action: ReviewAction
  operator: string
  /** the version the operator saw */
  version: number
  at: number
  /** reassign / newPerson: the person the face is now assigned to */
  personId?: string | null
  /** reference photo this decision added to the gallery, so undo can take it out again */
  addedPhotoId?: string | null
}

const iso = (ms: number | null): string => (ms === null ? 'an unknown time' : new Date(ms).toISOString())

function checkOperator(operator: unknown): string {
  if (typeof operator !== 'string' || operator.trim().length === 0)
    throw new ApiError('invalid_request', 'operator name is required')
  return operator.trim()
}

/** Decisions still in effect, oldest first: replays the trail, each undo cancelling the latest. */
export function effectiveDecisions(audit: readonly AuditEntry[]): AuditEntry[] {
  const stack: AuditEntry[] = []
  for (const e of audit) {
    if (e.action === 'undo') stack.pop()
    else stack.push(e)
  }
  return stack
}

/** The decision an undo would revert, or null. */
export function lastDecision(item: Pick<ReviewItem, 'audit'>): AuditEntry | null {
  const s = effectiveDecisions(item.audit)
  return s.length > 0 ? s[s.length - 1] : null
}

/**
 * Throws ApiError('conflict') unless the item is pending and at `version`. The error carries who
 * changed the item last and when, so the second operator knows what happened.
 */
export function assertDecidable(item: ReviewItem, version: number): void {
  const last = item.audit.length > 0 ? item.audit[item.audit.length - 1] : null
  const details = {
    itemId: item.id,
    status: item.status,
    version: item.version,
    personId: item.personId,
    decidedBy: item.decidedBy,
    decidedAt: item.decidedAt,
    lastChange: last ? { action: last.action, operator: last.operator, at: last.at } : null
  }
  if (item.status !== 'pending') {
    throw new ApiError(
      'conflict',
      `this face was already ${item.status} by ${item.decidedBy ?? 'another operator'} at ${iso(item.decidedAt)}; nothing was changed (undo that decision first to decide again)`,
      details
    )
  }
  if (version !== item.version) {
    const who = last ? `${last.operator} (${last.action}) at ${iso(last.at)}` : 'the camera pipeline'
    throw new ApiError(
      'conflict',
      `this item changed since you saw it (your version ${version}, now ${item.version}; last change by ${who}); nothing was changed, reload and decide again`,
      details
    )
  }
}

/** Status and person after an action; throws invalid_request when the action lacks what it needs. */
export function outcomeOf(item: Pick<ReviewItem, 'personId'>, action: ReviewAction, personId?: string | null): Outcome {
  switch (action) {
    case 'confirm':
      if (!item.personId)
        throw new ApiError(
          'invalid_request',
          'nothing to confirm: this face has no proposed person; reassign it instead'
        )
      return { status: 'confirmed', personId: item.personId }
    case 'reject':
      // "not that person": the face stays unidentified
      return { status: 'rejected', personId: null }
    case 'reassign':
    case 'newPerson':
      if (!personId) throw new ApiError('invalid_request', `${action} needs the person the face belongs to`)
      return { status: 'reassigned', personId }
    default:
      throw new ApiError('invalid_request', `unknown review action ${JSON.stringify(action)}`)
  }
}

/** Applies a decision; returns a new item (the input is not modified). */
export function applyDecision(item: ReviewItem, d: Decision): ReviewItem {
  const operator = checkOperator(d.operator)
  assertDecidable(item, d.version)
  const next = outcomeOf(item, d.action, d.personId)
  const entry: AuditEntry = {
    at: d.at,
    operator,
    action: d.action,
    previous: { status: item.status, personId: item.personId },
    next,
    addedPhotoId: d.addedPhotoId ?? null
  }
  return {
    ...item,
    status: next.status,
    personId: next.personId,
    version: item.version + 1,
    decidedBy: operator,
    decidedAt: d.at,
    audit: [...item.audit, entry]
  }
}

/**
 * Reverts the last decision still in effect. Returns the new item and the entry that was undone
 * (its addedPhotoId and action tell the caller what side effects to revert).
 */
export function applyUndo(
  item: ReviewItem,
  u: { operator: string; at: number }
): { item: ReviewItem; undone: AuditEntry } {
  const operator = checkOperator(u.operator)
  const undone = lastDecision(item)
  if (!undone)
    throw new ApiError('conflict', 'nothing to undo: this item has no decision in effect', {
      itemId: item.id,
      status: item.status,
      version: item.version
    })
  const entry: AuditEntry = {
    at: u.at,
    operator,
    action: 'undo',
    previous: { status: item.status, personId: item.personId },
    next: { ...undone.previous },
    addedPhotoId: null
  }
  const audit = [...item.audit, entry]
  const still = lastDecision({ audit })
  return {
    item: {
      ...item,
      status: undone.previous.status,
      personId: undone.previous.personId,
      version: item.version + 1,
      decidedBy: still ? still.operator : null,
      decidedAt: still ? still.at : null,
      audit
    },
    undone
  }
}

/** The linked event's decision for a review status. */
export function eventDecisionOf(status: ReviewStatus): EventDecision {
  return status
}
