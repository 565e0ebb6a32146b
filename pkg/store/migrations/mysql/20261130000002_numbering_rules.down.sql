RENAME TABLE steps_numbering TO steps_derived
