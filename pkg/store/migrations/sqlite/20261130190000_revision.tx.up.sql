-- See the MySQL migration of the same name.
ALTER TABLE steps ADD COLUMN revision TEXT NULL
--bun:split
ALTER TABLE steps ADD COLUMN committed_at TEXT NULL
--bun:split
ALTER TABLE deployments ADD COLUMN revision TEXT NULL
--bun:split
ALTER TABLE deployments ADD COLUMN committed_at TEXT NULL
