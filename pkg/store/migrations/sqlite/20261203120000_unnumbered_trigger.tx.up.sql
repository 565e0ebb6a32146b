-- Builds of main from 1ddb502 to 37e4966 (2 December 2026) created, in
-- 20261202000001_numbered_steps, a trigger that marked a step inserted
-- without numbered, and a partial index of the marked steps. The migration
-- of that name no longer creates them (its comment says why), so a file
-- those builds migrated kept them: the trigger cost every insert about
-- 0.8 ms of CPU, and nothing on SQLite reads the mark. Files without them
-- are unchanged.
DROP TRIGGER IF EXISTS steps_mark_unnumbered
--bun:split
DROP INDEX IF EXISTS steps_unnumbered
