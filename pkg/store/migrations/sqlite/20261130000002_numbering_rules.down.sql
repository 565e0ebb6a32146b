ALTER TABLE steps_numbering RENAME TO steps_derived
