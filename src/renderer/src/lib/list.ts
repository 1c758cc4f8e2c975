/**
 * Puts `item` where the element with its id is, keeping the order; false when there is none, so
 * the caller decides what a new one means (append, insert sorted, just count it).
 */
export function replaceById<T extends { id: string }>(list: T[], item: T): boolean {
  const i = list.findIndex((x) => x.id === item.id)
  if (i < 0) return false
  list.splice(i, 1, item)
  return true
}
