DROP TABLE IF EXISTS steps_derived
--bun:split
DROP INDEX IF EXISTS steps_listing
--bun:split
ALTER TABLE steps DROP COLUMN started_at
--bun:split
ALTER TABLE steps DROP COLUMN attempt
