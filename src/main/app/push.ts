import { silentLogger, type Logger } from '../log/logger'
import type { PushChannel, PushSpec } from '../../shared/api'

type Listener = <P extends PushChannel>(channel: P, payload: PushSpec[P]) => void

/** Fan-out of engine pushes to the shells; a throwing listener never stops the others. */
export class PushBus {
  private readonly listeners = new Set<Listener>()

  constructor(private readonly log: Logger = silentLogger) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit<P extends PushChannel>(channel: P, payload: PushSpec[P]): void {
    for (const l of this.listeners) {
      try {
        l(channel, payload)
      } catch (err) {
        this.log.error({ err }, `push listener failed on ${channel}`)
      }
    }
  }
}
