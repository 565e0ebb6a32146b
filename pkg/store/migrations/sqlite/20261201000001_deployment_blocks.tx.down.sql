DROP INDEX IF EXISTS deployments_sealed
--bun:split
ALTER TABLE deployments DROP COLUMN sealed
--bun:split
DROP TABLE deployment_blocks
