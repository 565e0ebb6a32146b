ALTER TABLE deployments DROP COLUMN revision, DROP COLUMN committed_at
--bun:split
ALTER TABLE steps DROP COLUMN revision, DROP COLUMN committed_at
