-- record_step stores one step and numbers it in one round trip: the
-- transaction of number.go (insert the step, lock its target's row,
-- continue or start a deployment, update the target's row), for the
-- common case of a step at or after its target's last one. A late step
-- is rolled back and answered late = 1: stepsd then runs number.go's
-- path, which renumbers. The caller says whether the status is terminal,
-- so the rules stay in Go. Called with parameters, as any statement.
CREATE PROCEDURE record_step(
  p_component VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_version VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_owner VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_status VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_environment VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_time DATETIME(6), p_received DATETIME(6),
  p_key VARCHAR(160) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_fingerprint CHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  p_revision VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, p_committed DATETIME(6),
  p_ends TINYINT)
BEGIN
  DECLARE v_found TINYINT DEFAULT 1;
  DECLARE v_id BIGINT;
  DECLARE v_attempt INT;
  DECLARE v_started, v_last DATETIME(6);
  DECLARE v_ended, v_new TINYINT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  INSERT INTO steps (component, version, owner, status, environment, time, received_at, idempotency_key, fingerprint, revision, committed_at)
  VALUES (p_component, p_version, p_owner, p_status, p_environment, p_time, p_received, p_key, p_fingerprint, p_revision, p_committed);
  SET v_id = LAST_INSERT_ID();
  SELECT attempt, started_at, last_time, ended INTO v_attempt, v_started, v_last, v_ended
  FROM targets WHERE component = p_component AND version = p_version AND environment = p_environment FOR UPDATE;
  IF v_found = 1 AND p_time < v_last THEN
    ROLLBACK;
    SELECT v_id AS id, 1 AS late;
  ELSE
    -- The target's row first: writes changes it even when nothing else
    -- does, so that the write conflicts (Galera certifies changed rows
    -- only). A row made meanwhile by another writer (none was there to
    -- lock) counts 2 rows, not 1: that is a conflict, retried as a
    -- deadlock is, before this writer's deployment row could collide
    -- with the other's.
    SET v_new = v_found = 0 OR v_ended = 1; -- the step starts the next deployment
    IF v_new THEN
      SET v_attempt = IF(v_found = 1, v_attempt + 1, 1), v_started = p_time;
    END IF;
    INSERT INTO targets (component, version, environment, attempt, started_at, last_time, ended, writes)
    VALUES (p_component, p_version, p_environment, v_attempt, v_started, p_time, p_ends, 1)
    ON DUPLICATE KEY UPDATE attempt = VALUES(attempt), started_at = VALUES(started_at), last_time = VALUES(last_time),
      ended = VALUES(ended), writes = writes + 1;
    IF ROW_COUNT() <> 1 + v_found THEN
      SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'record_step: target written concurrently';
    END IF;
    IF v_new THEN
      INSERT INTO deployments (component, version, environment, attempt, first_id, started_at, last_time, owner, steps, phases,
        revision, committed_at)
      VALUES (p_component, p_version, p_environment, v_attempt, v_id, p_time, p_time, p_owner, 1,
        CONCAT(v_id, ',0,', p_status, CHAR(30 USING utf8mb4)), p_revision, p_committed);
    ELSE
      UPDATE deployments SET last_time = p_time, steps = steps + 1,
        phases = CONCAT(phases, v_id, ',', TIMESTAMPDIFF(MICROSECOND, v_started, p_time), ',', p_status, CHAR(30 USING utf8mb4)),
        revision = COALESCE(p_revision, revision), committed_at = COALESCE(p_committed, committed_at)
      WHERE component = p_component AND version = p_version AND environment = p_environment AND attempt = v_attempt;
    END IF;
    COMMIT;
    SELECT v_id AS id, 0 AS late;
  END IF;
END
