-- The column alone, so that one INSERT serves both kinds. SQLite marks no
-- step: it cannot change a column's default, and a trigger that marked a
-- row inserted without numbered cost 0.8 ms of CPU on every insert (single
-- steps at c=1: 960 against 1,800 µs a request, stepsbench). One stepsd
-- serves a SQLite file, so only a downgrade writes such steps there, and
-- the manual renumber covers it (docs/operations.md, "Upgrades").
ALTER TABLE steps ADD COLUMN numbered INTEGER NULL
