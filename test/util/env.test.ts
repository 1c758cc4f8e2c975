import { describe, expect, it, vi } from 'vitest'
import { envVar } from '../../src/main/util/env'

describe('envVar', () => {
  it('reads the new name, falls back to the old one with one warning, and treats empty as unset', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    try {
      expect(envVar('VIGIL_TEST_DATA', { VIGIL_TEST_DATA: '/new', VIGIL_DATA: '/old' })).toBe('/new')
      expect(envVar('VIGIL_TEST_DATA', { VIGIL_TEST_DATA: '', VIGIL_DATA: '/old' })).toBe('/old')
      expect(envVar('VIGIL_TEST_DATA', { VIGIL_DATA: '/old' })).toBe('/old')
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/VIGIL_DATA is deprecated; set VIGIL_TEST_DATA/)
      expect(envVar('VIGIL_DATA_DIR', {})).toBeUndefined()
    } finally {
      warn.mockRestore()
    }
  })
})
