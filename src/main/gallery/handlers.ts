import type { HandlersFor } from '../contracts'
import type { Gallery } from './gallery'

export function peopleHandlers(gallery: Gallery): HandlersFor<'people'> {
  return {
    'people.list': async () => gallery.list(),
    'people.create': async (req) => gallery.create(req),
    'people.update': async ({ id, ...patch }) => gallery.update(id, patch),
    'people.delete': async ({ id }) => gallery.delete(id),
    'people.addPhoto': async (req) => gallery.addPhoto(req),
    'people.removePhoto': async ({ personId, photoId }) => gallery.removePhoto(personId, photoId)
  }
}
