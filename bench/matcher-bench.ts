// Micro benchmark of Matcher.match (not a unit test): npx tsx bench/matcher-bench.ts [refs] [queries]
// Synthetic gallery: persons with 5 references each, drawn around a per-person centre so same-person
// cosine is ~0.6 like real embeddings; queries are new draws of existing persons (a match) and
// random vectors (nobody). Prints build time and per-query latency percentiles.
import { Matcher, type Aggregate } from '../src/main/gallery/matcher'
import { scanF32 } from '../src/main/gallery/scan'
import { around, gauss, rng, unit } from '../src/main/gallery/synthetic'
import type { MatcherReference } from '../src/main/contracts'

const DIM = 512

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

async function main(): Promise<void> {
  const nRefs = Number(process.argv[2] ?? 100_000)
  const nQueries = Number(process.argv[3] ?? 500)
  const aggregate = (process.argv[4] ?? 'max') as Aggregate
  const perPerson = 5
  const r = rng(42)
  const centres: Float32Array[] = []
  const refs: MatcherReference[] = []
  // noise 0.04 per dimension on a unit centre: same-person cosine ≈ 1/(1+512·0.04²) ≈ 0.55
  const noise = 0.04
  for (let i = 0; i < nRefs; i++) {
    const p = Math.floor(i / perPerson)
    if (!centres[p]) centres[p] = unit(Float32Array.from({ length: DIM }, () => gauss(r)))
    refs.push({
      personId: `p${p}`,
      name: `Person ${p}`,
      photoId: `ph${i}`,
      embedding: around(centres[p], noise, r),
      threshold: null
    })
  }
  const m = new Matcher({ aggregate })
  let t = performance.now()
  m.setReferences(refs)
  const buildMs = performance.now() - t
  const thresholds = { accept: 0.5, review: 0.35 }
  const queries: Float32Array[] = []
  for (let i = 0; i < nQueries; i++) {
    queries.push(
      i % 2 === 0
        ? around(centres[Math.floor(r() * centres.length)], noise, r)
        : unit(Float32Array.from({ length: DIM }, () => gauss(r)))
    )
  }
  for (let i = 0; i < 20; i++) m.match(queries[i % queries.length], thresholds)
  const times: number[] = []
  let matches = 0
  let rescored = 0
  for (const q of queries) {
    t = performance.now()
    const res = m.match(q, thresholds, 3)
    times.push(performance.now() - t)
    if (res.band === 'match') matches++
    rescored += m.lastRescored
  }
  times.sort((a, b) => a - b)
  // float32 naive scan for comparison (a few runs, it is slow)
  const flat = new Float32Array(nRefs * DIM)
  refs.forEach((ref, i) => flat.set(ref.embedding, i * DIM))
  const out = new Float64Array(nRefs)
  const naive: number[] = []
  for (let i = 0; i < 10; i++) {
    t = performance.now()
    scanF32(flat, nRefs, DIM, queries[i], out)
    naive.push(performance.now() - t)
  }
  naive.sort((a, b) => a - b)
  console.log(
    JSON.stringify(
      {
        refs: nRefs,
        persons: m.personCount,
        aggregate,
        simd: m.simd,
        buildMs: Math.round(buildMs),
        queries: nQueries,
        matchMs: {
          p50: +percentile(times, 0.5).toFixed(3),
          p90: +percentile(times, 0.9).toFixed(3),
          p99: +percentile(times, 0.99).toFixed(3),
          max: +times[times.length - 1].toFixed(3)
        },
        // the machine is shared: a busy neighbour shows up here and in the tail
        loadAverage1m: +(await import('node:os')).loadavg()[0].toFixed(2),
        naiveFloatScanMsP50: +percentile(naive, 0.5).toFixed(2),
        matchedQueries: matches,
        meanRescoredRefs: +(rescored / nQueries).toFixed(1)
      },
      null,
      2
    )
  )
}

void main()
