import { describe, expect, it } from 'vitest'
import { keyedSerial, serial } from '../../src/main/util/serial'

const tick = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('serial', () => {
  it('runs tasks one at a time in call order, a failure rejecting only its own caller', async () => {
    const s = serial()
    const log: string[] = []
    const task =
      (name: string, fail = false) =>
      async (): Promise<string> => {
        log.push(`start ${name}`)
        await tick(5)
        log.push(`end ${name}`)
        if (fail) throw new Error(name)
        return name
      }
    const a = s.run(task('a'))
    const b = s.run(task('b', true))
    const c = s.run(task('c'))
    await expect(a).resolves.toBe('a')
    await expect(b).rejects.toThrow('b')
    await expect(c).resolves.toBe('c')
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    await expect(s.idle()).resolves.toBeUndefined()
  })

  it('idle waits for what was queued before it', async () => {
    const s = serial()
    let done = false
    void s.run(async () => {
      await tick(5)
      done = true
    })
    await s.idle()
    expect(done).toBe(true)
  })
})

describe('keyedSerial', () => {
  it('serialises per key and lets other keys run alongside', async () => {
    const run = keyedSerial()
    const log: string[] = []
    const task = (name: string, ms: number) => async (): Promise<void> => {
      log.push(`start ${name}`)
      await tick(ms)
      log.push(`end ${name}`)
    }
    await Promise.all([run('k1', task('a', 10)), run('k1', task('b', 1)), run('k2', task('x', 1))])
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'))
    expect(log.indexOf('start x')).toBeLessThan(log.indexOf('end a'))
  })
})
