CREATE TABLE steps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL,
  version TEXT NOT NULL,
  owner TEXT NOT NULL,
  status TEXT NOT NULL,
  environment TEXT NOT NULL DEFAULT '',
  time TEXT NOT NULL,
  received_at TEXT NOT NULL,
  idempotency_key TEXT NULL UNIQUE,
  fingerprint TEXT NULL
)
--bun:split
CREATE INDEX steps_time ON steps (time, id)
--bun:split
CREATE INDEX steps_deployment ON steps (component, version, environment, time, id, status, owner)
--bun:split
CREATE INDEX steps_owner ON steps (owner, time, id)
--bun:split
CREATE INDEX steps_status ON steps (status, time, id)
--bun:split
CREATE INDEX steps_environment ON steps (environment, time, id)
--bun:split
CREATE INDEX steps_version ON steps (version, time, id)
