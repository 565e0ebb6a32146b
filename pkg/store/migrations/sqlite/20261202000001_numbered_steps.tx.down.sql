DROP TRIGGER IF EXISTS steps_mark_unnumbered
--bun:split
DROP INDEX IF EXISTS steps_unnumbered
--bun:split
ALTER TABLE steps DROP COLUMN numbered
