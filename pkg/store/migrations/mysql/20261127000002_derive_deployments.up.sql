-- Each step carries its deployment's attempt number and start, kept by
-- stepsd (pkg/store/derive.go) after the step is written: listing
-- deployments is then one ordered scan of steps_listing, and a page one
-- index seek. New steps arrive with attempt 0 and started_at NULL, which
-- gathers them at the head of steps_listing until they are derived.
ALTER TABLE steps
  ADD COLUMN attempt INT NOT NULL DEFAULT 0,
  ADD COLUMN started_at DATETIME(6) NULL,
  ADD KEY steps_listing (started_at, component, version, environment, attempt, time, id, status, owner)
--bun:split
-- The terminal statuses the derived columns were computed with: other
-- statuses make stepsd derive them again.
CREATE TABLE steps_derived (
  name VARCHAR(64) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
