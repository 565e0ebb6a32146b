-- See the MySQL migration of the same name.
ALTER TABLE steps ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0
--bun:split
ALTER TABLE steps ADD COLUMN started_at TEXT NULL
--bun:split
CREATE INDEX steps_listing ON steps (started_at, component, version, environment, attempt, time, id, status, owner)
--bun:split
CREATE TABLE steps_derived (
  name TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
)
