import { getCurrentScope, onScopeDispose, toValue, type MaybeRefOrGetter } from 'vue'
import { isTypingTarget } from '../lib/shortcuts'

/**
 * Window keydown handler for the calling component's lifetime. Keys typed into text fields are
 * left alone; the handler returns true when it used the key (then its default action is prevented).
 */
export function useShortcuts(handler: (e: KeyboardEvent) => boolean, enabled: MaybeRefOrGetter<boolean> = true): void {
  const onKey = (e: KeyboardEvent): void => {
    if (!toValue(enabled) || e.defaultPrevented || isTypingTarget(e.target)) return
    // A modal dialog owns the keyboard while open.
    if (typeof document !== 'undefined' && document.querySelector('dialog[open], [role="dialog"][aria-modal="true"]'))
      return
    if (handler(e)) e.preventDefault()
  }
  window.addEventListener('keydown', onKey)
  if (getCurrentScope()) onScopeDispose(() => window.removeEventListener('keydown', onKey))
}
