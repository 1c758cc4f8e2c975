// Schema of the face-memory box (box 'memory' in schema_migrations): sightings, stranger groups and
// lasting rejections. Embeddings are little-endian float32 BLOBs (bytea in PostgreSQL), 2 KB each.
import type { SqlEngine, SqlMigration } from '../store/sql/database'

function v1(engine: SqlEngine): string {
  const blob = engine === 'postgres' ? 'BYTEA' : 'BLOB'
  const real = engine === 'postgres' ? 'DOUBLE PRECISION' : 'REAL'
  return `
CREATE TABLE memory_groups (
  id TEXT PRIMARY KEY,
  centroid_sum ${blob} NOT NULL,
  members INTEGER NOT NULL,
  visits INTEGER NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  cameras TEXT NOT NULL,
  best_crop TEXT,
  best_quality ${real} NOT NULL,
  status TEXT NOT NULL,
  person_id TEXT
);
CREATE INDEX memory_groups_last_seen ON memory_groups (last_seen);
CREATE TABLE memory_sightings (
  id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  track_id TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  embedding ${blob} NOT NULL,
  quality ${real} NOT NULL,
  quality_detail TEXT,
  crop TEXT,
  band TEXT NOT NULL,
  person_id TEXT,
  score ${real} NOT NULL,
  group_id TEXT
);
CREATE INDEX memory_sightings_group ON memory_sightings (group_id);
CREATE INDEX memory_sightings_last_seen ON memory_sightings (last_seen);
CREATE TABLE memory_rejections (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL,
  group_id TEXT,
  embedding ${blob} NOT NULL,
  operator TEXT NOT NULL,
  at BIGINT NOT NULL,
  item_id TEXT,
  undone_at BIGINT
);
CREATE INDEX memory_rejections_person ON memory_rejections (person_id);
`
}

export const MEMORY_MIGRATIONS: readonly SqlMigration[] = [
  {
    box: 'memory',
    version: 1,
    name: 'sightings, stranger groups, rejections',
    sql: { sqlite: v1('sqlite'), postgres: v1('postgres') }
  }
]
