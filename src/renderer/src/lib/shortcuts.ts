// Review-queue keyboard map, kept pure so it can be tested and shown in the help line.

export type ReviewCommand =
  | { kind: 'confirm' }
  | { kind: 'reject' }
  | { kind: 'pick'; index: number }
  | { kind: 'reassign' }
  | { kind: 'newPerson' }
  | { kind: 'undo' }
  | { kind: 'next' }
  | { kind: 'prev' }

export interface KeyLike {
  key: string
  ctrlKey?: boolean
  metaKey?: boolean
  altKey?: boolean
}

export function reviewCommandForKey(e: KeyLike): ReviewCommand | null {
  // Leave browser/OS shortcuts (Ctrl+R reload, Cmd+C copy…) alone.
  if (e.ctrlKey || e.metaKey || e.altKey) return null
  switch (e.key) {
    case 'Enter':
    case 'c':
    case 'C':
      return { kind: 'confirm' }
    case 'r':
    case 'R':
    case 'x':
    case 'X':
      return { kind: 'reject' }
    case '1':
    case '2':
    case '3':
      return { kind: 'pick', index: Number(e.key) - 1 }
    case 'a':
    case 'A':
      return { kind: 'reassign' }
    case 'n':
    case 'N':
      return { kind: 'newPerson' }
    case 'u':
    case 'U':
      return { kind: 'undo' }
    case 'j':
    case 'J':
    case 'ArrowDown':
      return { kind: 'next' }
    case 'k':
    case 'K':
    case 'ArrowUp':
      return { kind: 'prev' }
    default:
      return null
  }
}

/** True when the key press belongs to a text field and must not trigger shortcuts. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as { tagName?: unknown }).tagName !== 'string') return false
  const el = target as HTMLElement
  const tag = el.tagName.toLowerCase()
  if (tag === 'textarea' || tag === 'select') return true
  if (tag === 'input') {
    const type = (el as HTMLInputElement).type
    return !['checkbox', 'radio', 'button', 'submit', 'range'].includes(type)
  }
  return el.isContentEditable === true
}
