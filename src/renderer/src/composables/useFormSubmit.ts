import { ref, type Ref } from 'vue'
import { errorText } from '../lib/errors'

export interface FormSubmit {
  /** shown next to the form: the form's own checks set it too */
  error: Ref<string | null>
  /** true while a save runs: the submit button shows it and cannot be pressed twice */
  busy: Ref<boolean>
  /** Runs `save` with `busy` set and the previous error cleared; a failure becomes `error`, never a throw. */
  run: (save: () => Promise<void>) => Promise<void>
}

/** The save step every settings form and editor dialog shares: busy flag, inline error, no unhandled rejection. */
export function useFormSubmit(): FormSubmit {
  const error = ref<string | null>(null)
  const busy = ref(false)
  async function run(save: () => Promise<void>): Promise<void> {
    busy.value = true
    error.value = null
    try {
      await save()
    } catch (e) {
      error.value = errorText(e)
    } finally {
      busy.value = false
    }
  }
  return { error, busy, run }
}
