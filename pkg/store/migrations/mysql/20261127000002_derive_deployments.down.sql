DROP TABLE IF EXISTS steps_derived
--bun:split
ALTER TABLE steps DROP KEY steps_listing, DROP COLUMN started_at, DROP COLUMN attempt
