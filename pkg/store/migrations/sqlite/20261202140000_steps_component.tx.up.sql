-- GET /v1/steps?component=C lists in time order. steps_deployment leads
-- with the component but then the version, so such a list read every step
-- the component ever had and sorted them for one page: a cost that grew
-- with the history. Every other filter has its (column, time, id) index;
-- now the component too.
CREATE INDEX IF NOT EXISTS steps_component ON steps (component, time, id)
