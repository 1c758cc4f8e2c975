// Polls until the probe returns something truthy: integration tests wait for what real parts
// (ffmpeg, RTSP, brokers, receivers) do in their own time.
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | null | undefined | false,
  pollMs = 100
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}
