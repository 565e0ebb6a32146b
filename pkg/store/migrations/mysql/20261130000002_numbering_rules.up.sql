-- One name for one concept: deployments are "numbered" (number.go), and
-- the table that records the terminal statuses the stored numbering
-- follows takes that name. It was named when deployments were derived
-- after each write, which issue 13 removed.
RENAME TABLE steps_derived TO steps_numbering
