// Running async work one task at a time, in call order: the engine's one lock. A failed task
// rejects its own caller only; the next task still runs.

export interface Serial {
  /** Queues `task` behind every task queued before it; resolves or rejects with its result. */
  run<T>(task: () => Promise<T>): Promise<T>
  /** Resolves once every task queued so far has settled (never rejects). */
  idle(): Promise<void>
}

export function serial(): Serial {
  let tail: Promise<void> = Promise.resolve()
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const result = tail.then(task)
      tail = result.then(
        () => undefined,
        () => undefined
      )
      return result
    },
    idle: () => tail
  }
}

/**
 * One Serial per key, e.g. per camera track: tasks of one key run one at a time, different keys
 * do not wait for each other. A key's queue is dropped once it runs empty.
 */
export function keyedSerial(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const queues = new Map<string, { s: Serial; pending: number }>()
  return <T>(key: string, task: () => Promise<T>): Promise<T> => {
    let q = queues.get(key)
    if (!q) {
      q = { s: serial(), pending: 0 }
      queues.set(key, q)
    }
    const entry = q
    entry.pending++
    const result = entry.s.run(task)
    void entry.s.idle().then(() => {
      if (--entry.pending === 0 && queues.get(key) === entry) queues.delete(key)
    })
    return result
  }
}
