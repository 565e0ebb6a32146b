-- Deployments are numbered in the transaction that writes their steps
-- (pkg/store/number.go): a row per target, which every write to it
-- updates, and a row per deployment, which lists and stats read. The
-- columns derived after each write go. The stored terminal statuses are
-- forgotten, so that stepsd numbers the existing history into the new
-- tables once, at start-up (docs/operations.md).
ALTER TABLE steps DROP KEY steps_listing, DROP COLUMN started_at, DROP COLUMN attempt
--bun:split
CREATE TABLE targets (
  component VARCHAR(128) NOT NULL,
  version VARCHAR(128) NOT NULL,
  environment VARCHAR(64) NOT NULL,
  attempt INT NOT NULL,
  started_at DATETIME(6) NOT NULL,
  last_time DATETIME(6) NOT NULL,
  ended TINYINT NOT NULL,
  writes BIGINT NOT NULL,
  PRIMARY KEY (component, version, environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
--bun:split
CREATE TABLE deployments (
  component VARCHAR(128) NOT NULL,
  version VARCHAR(128) NOT NULL,
  environment VARCHAR(64) NOT NULL,
  attempt INT NOT NULL,
  first_id BIGINT NOT NULL,
  started_at DATETIME(6) NOT NULL,
  last_time DATETIME(6) NOT NULL,
  owner VARCHAR(128) NOT NULL,
  steps INT NOT NULL,
  phases MEDIUMTEXT NOT NULL,
  PRIMARY KEY (component, version, environment, attempt),
  KEY deployments_start (started_at, component, version, environment, attempt),
  KEY deployments_component (component, environment, started_at),
  KEY deployments_owner (owner, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
--bun:split
-- Run again after a cut (pkg/store/remigrate.go), this deletes nothing more.
DELETE FROM steps_derived WHERE name = 'terminal_statuses'
