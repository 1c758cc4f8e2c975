import { defineStore } from 'pinia'
import { ref } from 'vue'
import { errorText } from '../lib/errors'

export type ToastKind = 'error' | 'info' | 'success'

export interface Toast {
  id: number
  kind: ToastKind
  text: string
  /** optional action button, e.g. "Undo" */
  action?: { label: string; run: () => void }
}

// Errors stay long enough to be read in a busy room; info fades sooner.
const LIFETIME: Record<ToastKind, number> = { error: 12_000, info: 5_000, success: 5_000 }
const MAX_VISIBLE = 5

export const useToastStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([])
  let nextId = 1

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }

  function show(kind: ToastKind, text: string, action?: Toast['action']): number {
    const id = nextId++
    // The same error repeating (e.g. a polling failure) replaces itself instead of stacking up.
    const dup = toasts.value.find((t) => t.kind === kind && t.text === text)
    if (dup) dismiss(dup.id)
    toasts.value = [...toasts.value, { id, kind, text, action }].slice(-MAX_VISIBLE)
    setTimeout(() => dismiss(id), LIFETIME[kind])
    return id
  }

  return {
    toasts,
    dismiss,
    error: (e: unknown, context?: string) => show('error', errorText(e, context)),
    info: (text: string, action?: Toast['action']) => show('info', text, action),
    success: (text: string, action?: Toast['action']) => show('success', text, action)
  }
})
