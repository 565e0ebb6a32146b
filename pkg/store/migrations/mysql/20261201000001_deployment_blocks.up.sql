-- Sealed blocks (issue 13): up to a few hundred consecutive deployments of
-- one series (component, environment), ended and past a horizon, stored
-- as the very bytes a read decodes (pkg/store/seal.go), so that stats, the
-- page, changes and DORA read a few thousand blocks instead of millions of
-- rows. deployments stays complete; sealed names the block holding a row
-- (0: none), and its index finds both the unsealed rows a read merges in
-- and a block's rows when a renumbering unseals it. Blocks are sealed in
-- the background after the upgrade (docs/operations.md).
CREATE TABLE deployment_blocks (
  id BIGINT NOT NULL AUTO_INCREMENT,
  component VARCHAR(128) NOT NULL,
  environment VARCHAR(64) NOT NULL,
  first_start DATETIME(6) NOT NULL,
  last_start DATETIME(6) NOT NULL,
  entries INT NOT NULL,
  body MEDIUMBLOB NOT NULL,
  PRIMARY KEY (id),
  KEY deployment_blocks_series (component, environment, first_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
--bun:split
ALTER TABLE deployments ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0,
  ADD KEY deployments_sealed (sealed, component, environment, started_at)
