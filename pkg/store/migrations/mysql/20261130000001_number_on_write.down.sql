DROP TABLE IF EXISTS deployments
--bun:split
DROP TABLE IF EXISTS targets
--bun:split
ALTER TABLE steps
  ADD COLUMN attempt INT NOT NULL DEFAULT 0,
  ADD COLUMN started_at DATETIME(6) NULL,
  ADD KEY steps_listing (started_at, component, version, environment, attempt, time, id, status, owner)
--bun:split
DELETE FROM steps_derived WHERE name = 'terminal_statuses'
