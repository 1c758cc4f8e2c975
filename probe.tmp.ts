import { openSqlStore } from './src/main/store/sql-store'
import { insertEvents } from './src/main/store/repos/events'
import { whereOf } from './src/main/store/repos/events'
import { mkdtempSync } from 'node:fs'
const dir = mkdtempSync('/tmp/lsqt/p-')
const sql = await openSqlStore({ dataDir: dir })
const now = Date.now()
const N = 200000
for (let i = 0; i < N; i += 10000) {
  const part = Array.from({ length: 10000 }, (_, k) => ({ id: `e${i + k}`, cameraId: `cam-${k % 12}`, trackId: 't', band: 'match' as const, personId: `person-${(i + k) % 10000}`, personName: 'x', score: 0.5, decision: 'auto' as const, startedAt: now - 30 * 86400000 + Math.floor((i + k) * (30 * 86400000 / N)), updatedAt: now - 30 * 86400000 + Math.floor((i + k) * (30 * 86400000 / N)) + 1000, box: { x: 1, y: 1, w: 1, h: 1 }, crop: null, snapshot: null, reviewItemId: null }))
  await sql.db.transaction((tx) => insertEvents(tx, part, 100))
}
await sql.db.run('ANALYZE')
const qs = [
  { personId: 'person-5' },
  { cameraId: 'cam-3' },
  { from: now - 20 * 86400000, to: now - 86400000 }
]
for (const q of qs) {
  const w = whereOf(q)
  for (const s of [
    `SELECT id FROM events WHERE ${w.sql} ORDER BY started_at DESC, id DESC LIMIT 50 OFFSET 0`,
    `SELECT COUNT(*) AS n FROM events WHERE ${w.sql} AND updated_at >= ${now - 10 * 86400000} AND updated_at < ${now - 9 * 86400000}`,
    `SELECT started_at / 3600000 AS h, camera_id, COUNT(*) AS n FROM events WHERE ${w.sql} AND started_at >= ${now - 3 * 86400000} AND started_at < ${now - 3 * 86400000 + 6 * 3600000} GROUP BY started_at / 3600000, camera_id`
  ]) {
    const plan = await sql.db.all(`EXPLAIN QUERY PLAN ${s}`, w.params)
    const t = performance.now()
    await sql.db.all(s, w.params)
    console.log(JSON.stringify(q), (performance.now() - t).toFixed(1), 'ms', plan.map((p) => p.detail).join(' | '))
  }
}
const t = performance.now()
const sql2 = await openSqlStore({ dataDir: dir })
console.log('open', (performance.now() - t).toFixed(0))
await sql.close(); await sql2.close()
