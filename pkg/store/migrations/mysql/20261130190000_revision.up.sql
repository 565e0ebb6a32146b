-- Which commit a step deployed and when it was made (issue 17), both
-- optional: NULL when not given. A deployment carries the latest given
-- on any of its steps (pkg/store/number.go). Rows stored before have none,
-- so nothing needs renumbering.
ALTER TABLE steps ADD COLUMN revision VARCHAR(64) NULL, ADD COLUMN committed_at DATETIME(6) NULL
--bun:split
ALTER TABLE deployments ADD COLUMN revision VARCHAR(64) NULL, ADD COLUMN committed_at DATETIME(6) NULL
