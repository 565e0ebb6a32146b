ALTER TABLE steps DROP KEY steps_unnumbered, DROP COLUMN numbered
