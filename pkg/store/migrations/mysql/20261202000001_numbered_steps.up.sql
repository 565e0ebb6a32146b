-- Steps that an older stepsd writes into this database (a downgrade, or an
-- old replica still serving during a rolling upgrade) are stored without
-- their deployment: releases before 20261130000001 number nothing. Such an
-- INSERT does not name numbered, so it takes the column's default, 0; this
-- stepsd writes 1. The rows already stored take 1 (the default when the
-- column is added, instant), then the default becomes 0 (metadata only).
-- At start-up stepsd numbers the targets of the steps at 0 through
-- steps_unnumbered (pkg/store/rules.go, docs/operations.md). Run again
-- after a cut (pkg/store/remigrate.go), SET DEFAULT changes nothing more.
ALTER TABLE steps ADD COLUMN numbered TINYINT NOT NULL DEFAULT 1
--bun:split
ALTER TABLE steps ALTER COLUMN numbered SET DEFAULT 0
--bun:split
ALTER TABLE steps ADD KEY steps_unnumbered (numbered)
