import { describe, expect, it } from 'vitest'
import { cpuMsOf, parseProcStatCpuMs } from '../../src/main/inference/pool/cpu'

describe('parseProcStatCpuMs', () => {
  it('reads utime + stime (clock ticks of 10 ms), even with spaces and parentheses in the command name', () => {
    const line = '4242 (node (worker) x) S 1 2 3 0 -1 4194304 127 0 0 0 150 25 0 0 20 0 1 0 111313 3133440 412'
    expect(parseProcStatCpuMs(line)).toBe(1750)
  })
  it('refuses text that is not a stat line', () => {
    expect(parseProcStatCpuMs('garbage')).toBeNull()
    expect(parseProcStatCpuMs('1 (x) S 1 2')).toBeNull()
  })
  it.skipIf(process.platform !== 'linux')('counts this process on Linux', () => {
    expect(cpuMsOf([process.pid])).toBeGreaterThan(0)
  })
})
