import type { HandlersFor } from '../contracts'
import type { ReviewQueue } from './queue'

export function reviewHandlers(review: ReviewQueue): HandlersFor<'review'> {
  return {
    'review.list': async ({ status }) => review.list({ status }),
    'review.decide': async (req) => review.decide(req),
    'review.undo': async (req) => review.undo(req)
  }
}
