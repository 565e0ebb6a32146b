-- See the MySQL migration of the same name. SQLite cannot change a
-- column's default, so the rows already stored keep NULL, and a trigger
-- marks 0 a row inserted without numbered (only an older stepsd does
-- that; this one writes 1). The partial index holds the rows at 0 alone.
ALTER TABLE steps ADD COLUMN numbered INTEGER NULL
--bun:split
CREATE INDEX steps_unnumbered ON steps (id) WHERE numbered = 0
--bun:split
CREATE TRIGGER steps_mark_unnumbered AFTER INSERT ON steps FOR EACH ROW WHEN NEW.numbered IS NULL
BEGIN
  UPDATE steps SET numbered = 0 WHERE id = NEW.id;
END
