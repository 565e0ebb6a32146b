ALTER TABLE deployments DROP COLUMN committed_at
--bun:split
ALTER TABLE deployments DROP COLUMN revision
--bun:split
ALTER TABLE steps DROP COLUMN committed_at
--bun:split
ALTER TABLE steps DROP COLUMN revision
