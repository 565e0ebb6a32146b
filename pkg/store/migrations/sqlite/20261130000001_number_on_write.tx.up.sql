-- See the MySQL migration of the same name.
DROP INDEX IF EXISTS steps_listing
--bun:split
ALTER TABLE steps DROP COLUMN started_at
--bun:split
ALTER TABLE steps DROP COLUMN attempt
--bun:split
CREATE TABLE targets (
  component TEXT NOT NULL,
  version TEXT NOT NULL,
  environment TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  last_time TEXT NOT NULL,
  ended INTEGER NOT NULL,
  writes INTEGER NOT NULL,
  PRIMARY KEY (component, version, environment)
) WITHOUT ROWID
--bun:split
CREATE TABLE deployments (
  component TEXT NOT NULL,
  version TEXT NOT NULL,
  environment TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  first_id INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  last_time TEXT NOT NULL,
  owner TEXT NOT NULL,
  steps INTEGER NOT NULL,
  phases TEXT NOT NULL,
  PRIMARY KEY (component, version, environment, attempt)
)
--bun:split
CREATE INDEX deployments_start ON deployments (started_at, component, version, environment, attempt)
--bun:split
CREATE INDEX deployments_component ON deployments (component, environment, started_at)
--bun:split
CREATE INDEX deployments_owner ON deployments (owner, started_at)
--bun:split
DELETE FROM steps_derived WHERE name = 'terminal_statuses'
