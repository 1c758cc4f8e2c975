import type { HandlersFor } from '../contracts'
import type { CameraService } from './service'

export function cameraHandlers(cameras: CameraService): HandlersFor<'cameras'> {
  return {
    'cameras.list': async () => cameras.list(),
    'cameras.create': async (req) => cameras.create(req),
    'cameras.update': async ({ id, ...patch }) => cameras.update(id, patch),
    'cameras.delete': async ({ id }) => {
      await cameras.remove(id)
      return { deleted: true }
    },
    'cameras.test': async ({ url }) => cameras.test(url),
    'cameras.focus': async ({ id }) => ({ streaming: cameras.focus(id) })
  }
}
