-- See the MySQL migration of the same name.
ALTER TABLE steps_derived RENAME TO steps_numbering
