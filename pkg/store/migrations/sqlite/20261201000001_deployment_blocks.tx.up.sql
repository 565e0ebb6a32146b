-- See the MySQL migration of the same name.
CREATE TABLE deployment_blocks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL,
  environment TEXT NOT NULL,
  first_start TEXT NOT NULL,
  last_start TEXT NOT NULL,
  entries INTEGER NOT NULL,
  body BLOB NOT NULL
)
--bun:split
CREATE INDEX deployment_blocks_series ON deployment_blocks (component, environment, first_start)
--bun:split
ALTER TABLE deployments ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0
--bun:split
CREATE INDEX deployments_sealed ON deployments (sealed, component, environment, started_at)
