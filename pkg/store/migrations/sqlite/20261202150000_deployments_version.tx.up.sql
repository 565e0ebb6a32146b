-- GET /v1/deployments?version=V (a release shared by several components)
-- read the deployments in start order from one end of the history to the
-- version's few. The index holds the list's order after the version, so a
-- page is a seek.
CREATE INDEX IF NOT EXISTS deployments_version ON deployments (version, started_at, component, environment, attempt)
