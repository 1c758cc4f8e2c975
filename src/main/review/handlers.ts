import type { HandlersFor } from '../contracts'
import type { ReviewQueue } from './queue'

export function reviewHandlers(review: ReviewQueue): HandlersFor<'review'> {
  return {
    'review.list': async ({ status, byGroup }) => review.list({ status, byGroup }),
    'review.rejectMany': async (req) => review.rejectMany(req),
    'review.decide': async (req) => review.decide(req),
    'review.undo': async (req) => review.undo(req)
  }
}
