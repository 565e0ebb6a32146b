ALTER TABLE deployments DROP KEY deployments_sealed, DROP COLUMN sealed
--bun:split
DROP TABLE deployment_blocks
