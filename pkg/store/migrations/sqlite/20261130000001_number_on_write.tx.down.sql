DROP TABLE IF EXISTS deployments
--bun:split
DROP TABLE IF EXISTS targets
--bun:split
ALTER TABLE steps ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0
--bun:split
ALTER TABLE steps ADD COLUMN started_at TEXT NULL
--bun:split
CREATE INDEX steps_listing ON steps (started_at, component, version, environment, attempt, time, id, status, owner)
--bun:split
DELETE FROM steps_derived WHERE name = 'terminal_statuses'
