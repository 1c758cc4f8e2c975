// Schema of the alerts box (box 'alerts'). Portable SQL: BIGINT for epoch ms (PostgreSQL's
// INTEGER is 32-bit), INTEGER 0/1 for flags, TEXT JSON for the rule and target bodies (they are
// read whole, never queried by field).
import type { SqlMigration } from '../store/sql/database'

export const ALERTS_BOX = 'alerts'

export const alertsMigrations: SqlMigration[] = [
  {
    box: ALERTS_BOX,
    version: 1,
    name: 'rules, targets, alerts, outbox, attempts',
    sql: `
CREATE TABLE alert_rules (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE alert_targets (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  rule_id TEXT,
  at BIGINT NOT NULL,
  camera_id TEXT,
  track_id TEXT,
  body TEXT NOT NULL,
  acknowledged_by TEXT,
  acknowledged_at BIGINT
);
CREATE INDEX alerts_at ON alerts (at);
CREATE INDEX alerts_track ON alerts (camera_id, track_id);
CREATE TABLE alert_outbox (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  target_id TEXT NOT NULL,
  target_name TEXT NOT NULL,
  target_kind TEXT NOT NULL,
  message TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX alert_outbox_due ON alert_outbox (status, next_attempt_at);
CREATE INDEX alert_outbox_alert ON alert_outbox (alert_id);
CREATE INDEX alert_outbox_created ON alert_outbox (created_at);
CREATE TABLE alert_delivery_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at BIGINT NOT NULL,
  ok INTEGER NOT NULL,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
`
  },
  {
    box: ALERTS_BOX,
    version: 2,
    name: 'outbox leases: one instance sends a row at a time when several share the database',
    sql: `
ALTER TABLE alert_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE alert_outbox ADD COLUMN lease_until BIGINT;
`
  }
]
