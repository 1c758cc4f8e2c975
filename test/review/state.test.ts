import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import type { ReviewItem } from '../../src/shared/types'
import {
  applyDecision,
  applyUndo,
  assertDecidable,
  effectiveDecisions,
  eventDecisionOf,
  lastDecision,
  outcomeOf
} from '../../src/main/review/state'

function item(over: Partial<ReviewItem> = {}): ReviewItem {
  return {
    id: 'r1',
    eventId: 'e1',
    cameraId: 'c1',
    trackId: 't1',
    createdAt: 1000,
    status: 'pending',
    version: 0,
    candidates: [{ personId: 'ann', name: 'Ann', score: 0.45 }],
    personId: 'ann',
    box: { x: 1, y: 2, w: 3, h: 4 },
    crop: 'crops/2026-01-01/a.jpg',
    snapshot: 'snapshots/2026-01-01/a.jpg',
    cropQuality: { sizePx: 100, detScore: 0.9, blur: 200, yawDeg: 0, pitchDeg: 0, score: 0.8 },
    decidedBy: null,
    decidedAt: null,
    audit: [],
    ...over
  }
}

function conflict(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (e) {
    if (e instanceof ApiError) return e
    throw e
  }
  throw new Error('expected a conflict')
}

describe('review state machine', () => {
  it('confirm: pending → confirmed, version +1, audit entry, input untouched', () => {
    const a = item()
    const b = applyDecision(a, { action: 'confirm', operator: ' alice ', version: 0, at: 5000, addedPhotoId: 'ph1' })
    expect(b).toMatchObject({ status: 'confirmed', personId: 'ann', version: 1, decidedBy: 'alice', decidedAt: 5000 })
    expect(b.audit).toEqual([
      {
        at: 5000,
        operator: 'alice',
        action: 'confirm',
        previous: { status: 'pending', personId: 'ann' },
        next: { status: 'confirmed', personId: 'ann' },
        addedPhotoId: 'ph1'
      }
    ])
    expect(a.status).toBe('pending')
    expect(a.audit).toEqual([])
  })

  it('reject clears the person; reassign and newPerson set the new one', () => {
    expect(applyDecision(item(), { action: 'reject', operator: 'a', version: 0, at: 1 })).toMatchObject({
      status: 'rejected',
      personId: null
    })
    expect(
      applyDecision(item(), { action: 'reassign', operator: 'a', version: 0, at: 1, personId: 'bob' })
    ).toMatchObject({
      status: 'reassigned',
      personId: 'bob'
    })
    const n = applyDecision(item(), { action: 'newPerson', operator: 'a', version: 0, at: 1, personId: 'new' })
    expect(n).toMatchObject({ status: 'reassigned', personId: 'new' })
    expect(n.audit[0].action).toBe('newPerson')
  })

  it('refuses actions that lack what they need', () => {
    expect(() => outcomeOf({ personId: null }, 'confirm')).toThrow(/nothing to confirm/)
    expect(() => outcomeOf({ personId: 'a' }, 'reassign')).toThrow(/needs the person/)
    expect(() => outcomeOf({ personId: 'a' }, 'newPerson', null)).toThrow(/needs the person/)
    expect(() => applyDecision(item(), { action: 'confirm', operator: '  ', version: 0, at: 1 })).toThrow(/operator/)
  })

  it('a stale version is a conflict naming who changed it last; nothing is returned changed', () => {
    const decided = applyDecision(item(), {
      action: 'confirm',
      operator: 'alice',
      version: 0,
      at: Date.UTC(2026, 0, 2, 3, 4, 5)
    })
    const undone = applyUndo(decided, { operator: 'bob', at: Date.UTC(2026, 0, 2, 3, 5, 0) }).item
    expect(undone.status).toBe('pending')
    expect(undone.version).toBe(2)
    const e = conflict(() => applyDecision(undone, { action: 'reject', operator: 'carol', version: 0, at: 9 }))
    expect(e.code).toBe('conflict')
    expect(e.message).toMatch(/your version 0, now 2/)
    expect(e.message).toMatch(/bob \(undo\) at 2026-01-02T03:05:00.000Z/)
    expect(e.details).toMatchObject({ version: 2, lastChange: { operator: 'bob', action: 'undo' } })
  })

  it('deciding an already decided item is a conflict with who and when, even with its current version', () => {
    const decided = applyDecision(item(), { action: 'reject', operator: 'alice', version: 0, at: Date.UTC(2026, 5, 1) })
    for (const v of [0, decided.version]) {
      const e = conflict(() => applyDecision(decided, { action: 'confirm', operator: 'bob', version: v, at: 2 }))
      expect(e.code).toBe('conflict')
      expect(e.message).toMatch(/already rejected by alice at 2026-06-01T00:00:00.000Z/)
      expect(e.details).toMatchObject({ status: 'rejected', decidedBy: 'alice', decidedAt: Date.UTC(2026, 5, 1) })
    }
    expect(() => assertDecidable(item({ version: 3 }), 3)).not.toThrow()
  })

  it('undo returns to the previous status and person from the audit trail and appends an entry', () => {
    const a = item()
    const b = applyDecision(a, { action: 'reassign', operator: 'alice', version: 0, at: 10, personId: 'bob' })
    const { item: c, undone } = applyUndo(b, { operator: 'bob', at: 20 })
    expect(undone.action).toBe('reassign')
    expect(c).toMatchObject({ status: 'pending', personId: 'ann', version: 2, decidedBy: null, decidedAt: null })
    expect(c.audit).toHaveLength(2)
    expect(c.audit[1]).toEqual({
      at: 20,
      operator: 'bob',
      action: 'undo',
      previous: { status: 'reassigned', personId: 'bob' },
      next: { status: 'pending', personId: 'ann' },
      addedPhotoId: null
    })
    // nothing left to undo
    const e = conflict(() => applyUndo(c, { operator: 'bob', at: 30 }))
    expect(e.message).toMatch(/nothing to undo/)
    // decide again after undo, then undo again: the trail keeps everything
    const d = applyDecision(c, { action: 'confirm', operator: 'carol', version: 2, at: 40 })
    const f = applyUndo(d, { operator: 'carol', at: 50 }).item
    expect(f.audit.map((x) => x.action)).toEqual(['reassign', 'undo', 'confirm', 'undo'])
    expect(f.status).toBe('pending')
    expect(effectiveDecisions(f.audit)).toEqual([])
    expect(lastDecision(d)?.action).toBe('confirm')
  })

  it('maps review statuses onto event decisions', () => {
    expect(eventDecisionOf('pending')).toBe('pending')
    expect(eventDecisionOf('confirmed')).toBe('confirmed')
    expect(eventDecisionOf('rejected')).toBe('rejected')
    expect(eventDecisionOf('reassigned')).toBe('reassigned')
  })
})
