-- GET /v1/deployments?version=V (a release shared by several components)
-- read deployments_start from one end of the history to the version's few
-- deployments: about a second over a million steps, for a page of one.
-- The index holds the list's order after the version, so a page is a seek.
-- A deployment's row is indexed once, when it is inserted: the updates of
-- each later step leave these columns alone.
ALTER TABLE deployments ADD KEY deployments_version (version, started_at, component, environment, attempt)
