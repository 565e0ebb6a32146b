DROP INDEX IF EXISTS steps_component
