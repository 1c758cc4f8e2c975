import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { useFormSubmit } from '../../src/renderer/src/composables/useFormSubmit'

describe('useFormSubmit', () => {
  it('is busy only while the save runs and clears the previous error', async () => {
    const f = useFormSubmit()
    f.error.value = 'Enter a name.'
    let release = (): void => {}
    const p = f.run(() => new Promise<void>((r) => (release = r)))
    expect(f.busy.value).toBe(true)
    expect(f.error.value).toBeNull()
    release()
    await p
    expect(f.busy.value).toBe(false)
    expect(f.error.value).toBeNull()
  })

  it('turns a failure into the error text instead of throwing', async () => {
    const f = useFormSubmit()
    await expect(
      f.run(() => Promise.reject(new ApiError('conflict', 'A person named Ana Lima already exists.')))
    ).resolves.toBeUndefined()
    expect(f.error.value).toBe('A person named Ana Lima already exists.')
    expect(f.busy.value).toBe(false)
    // Errors copied over the Electron bridge lose their code into the message; the form shows the text only.
    await f.run(() => Promise.reject(new Error('[invalid_request] camera URL must start with rtsp://')))
    expect(f.error.value).toBe('camera URL must start with rtsp://')
  })
})
