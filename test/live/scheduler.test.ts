// Fair share under overload, as pure bookkeeping: equal rates, twice for important cameras, no
// starvation of old cameras by a new one, and an overload flag that does not flicker.
import { describe, expect, it } from 'vitest'
import { FairScheduler, nextOverloaded } from '../../src/main/live/scheduler'

/** Every camera always has a frame; each pick finishes before the next round of picks. */
function simulate(s: FairScheduler, ids: string[], picks: number): Map<string, number> {
  const count = new Map(ids.map((id) => [id, 0]))
  let done = 0
  while (done < picks) {
    for (const id of ids) s.setReady(id, true)
    const round: string[] = []
    for (let id = s.next(); id !== null; id = s.next()) round.push(id)
    for (const id of round) {
      count.set(id, (count.get(id) ?? 0) + 1)
      s.done(id)
      done++
    }
  }
  return count
}

describe('FairScheduler', () => {
  it('gives 8 cameras on 2 slots equal shares, never more than 2 in flight', () => {
    const s = new FairScheduler(() => 2)
    const ids = Array.from({ length: 8 }, (_, i) => `c${i}`)
    for (const id of ids) s.add(id)
    for (const id of ids) s.setReady(id, true)
    expect(s.next()).toBe('c0')
    expect(s.next()).toBe('c1')
    expect(s.next()).toBeNull()
    expect(s.inFlight()).toBe(2)
    s.done('c0')
    s.done('c1')
    const counts = [...simulate(s, ids, 800).values()]
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
  })

  it('gives an important camera (weight 2) twice the share of the others', () => {
    const s = new FairScheduler(() => 1)
    s.add('a', 2)
    s.add('b')
    s.add('c')
    const c = simulate(s, ['a', 'b', 'c'], 400)
    expect(c.get('a')).toBe(200)
    expect(c.get('b')).toBe(100)
    expect(c.get('c')).toBe(100)
  })

  it('starts a new camera at the current minimum so it cannot monopolise the slots', () => {
    const s = new FairScheduler(() => 1)
    s.add('a')
    s.add('b')
    simulate(s, ['a', 'b'], 100)
    s.add('late')
    const c = simulate(s, ['a', 'b', 'late'], 30)
    expect(c.get('late')).toBeLessThanOrEqual(11)
    expect(c.get('a')).toBeGreaterThanOrEqual(9)
  })

  it('a camera without a frame is skipped; cancel gives the slot and the charge back', () => {
    const s = new FairScheduler(() => 1)
    s.add('a')
    s.add('b')
    s.setReady('b', true)
    expect(s.next()).toBe('b')
    s.cancel('b')
    expect(s.inFlight()).toBe(0)
    s.setReady('a', true)
    s.setReady('b', true)
    // b's charge was refunded: both are at 0, registration order decides
    expect(s.next()).toBe('a')
  })

  it('removing a busy camera frees its slot', () => {
    const s = new FairScheduler(() => 1)
    s.add('a')
    s.setReady('a', true)
    expect(s.next()).toBe('a')
    s.remove('a')
    expect(s.inFlight()).toBe(0)
    s.done('a')
    expect(s.inFlight()).toBe(0)
  })
})

describe('nextOverloaded', () => {
  it('enters below 85 % of the offered rate and leaves only above 95 %', () => {
    expect(nextOverloaded(false, 4.5, 5)).toBe(false)
    expect(nextOverloaded(false, 4.2, 5)).toBe(true)
    expect(nextOverloaded(true, 4.5, 5)).toBe(true)
    expect(nextOverloaded(true, 4.8, 5)).toBe(false)
    expect(nextOverloaded(true, 0, 0)).toBe(false)
  })
})
