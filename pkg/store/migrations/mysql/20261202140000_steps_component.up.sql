-- GET /v1/steps?component=C lists in time order. steps_deployment leads
-- with the component but then the version, so such a list read every step
-- the component ever had and sorted them for one page: a cost that grew
-- with the history (a page of 100 over a component's 37,000 steps). Every
-- other filter has its (column, time, id) index; now the component too.
ALTER TABLE steps ADD KEY steps_component (component, time, id)
