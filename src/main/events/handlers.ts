import type { HandlersFor } from '../contracts'
import type { EventLog } from './events'

export function eventHandlers(events: EventLog): HandlersFor<'events'> {
  return {
    'events.query': async (q) => events.query(q),
    'events.stats': async (q) => events.stats(q),
    'events.exportCsv': async (q) => ({ csv: await events.exportCsv(q) })
  }
}
