// CPU time of the pool's processes, for the bench: wall-clock throughput on a shared machine says
// little about scaling, CPU time per job does.
import { readFileSync } from 'node:fs'

/** Linux: utime + stime from the text of /proc/<pid>/stat, in ms (USER_HZ is 100 on every Linux ABI). */
export function parseProcStatCpuMs(stat: string): number | null {
  const close = stat.lastIndexOf(')')
  if (close < 0) return null
  // the command name (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed
  const rest = stat.slice(close + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return rest.length > 12 && Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * 10 : null
}

/** CPU ms used so far by this process plus the given children; null where /proc is unavailable. */
export function cpuMsOf(pids: readonly number[]): number | null {
  const own = process.cpuUsage()
  let total = (own.user + own.system) / 1000
  for (const pid of pids) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      return null
    }
    const ms = parseProcStatCpuMs(text)
    if (ms === null) return null
    total += ms
  }
  return total
}
