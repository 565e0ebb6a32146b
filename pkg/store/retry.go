package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Conflicts. Two writers of one target conflict on its row (see number.go):
// InnoDB answers the loser with a deadlock or a lock wait timeout, a Galera
// cluster with a certification failure (reported as a deadlock), SQLite
// with "busy" once its timeout runs out. None of them means the request
// was wrong: the whole transaction is run again, a few times, with jittered
// waits, before the error reaches the client.
const (
	maxTries   = 10
	retryFirst = 5 * time.Millisecond
	retryMax   = 500 * time.Millisecond
)

// errConflict says a writer elsewhere changed what this transaction read.
var errConflict = errors.New("store: concurrent write to the same deployment target")

// retryable says whether err is a conflict worth running the transaction
// again for.
func retryable(err error) bool {
	if errors.Is(err, errConflict) {
		return true
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1205, // ER_LOCK_WAIT_TIMEOUT
			1213, // ER_LOCK_DEADLOCK; also Galera's certification failure
			1020, // ER_CHECKREAD: record changed since last read
			1180: // ER_ERROR_DURING_COMMIT
			return true
		}
		return false
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// writeTx runs fn in a write transaction (holding the SQLite write slot),
// and runs it again from the start on a conflict. fn must not keep
// anything of a failed attempt.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	wait := retryFirst
	for try := 1; ; try++ {
		err := s.writeTxOnce(ctx, fn)
		if err == nil || try == maxTries || !retryable(err) {
			if errors.Is(err, errConflict) {
				return unavailable("database", err)
			}
			return err
		}
		// Full jitter: writers that collided do not collide again in step.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rand.N(wait) + time.Millisecond):
		}
		wait = min(2*wait, retryMax)
	}
}

func (s *Store) writeTxOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck // the first error is the one to report
		return err
	}
	if err := s.checkTxActive(ctx, tx); err != nil {
		tx.Rollback() //nolint:errcheck // the first error is the one to report
		return err
	}
	return translate(tx.Commit())
}

// checkTxActive fails with a conflict when the server ended the
// transaction before its COMMIT. A Galera node brute-force aborts a local
// transaction that a replicated one conflicts with; when that happens
// while the client is between statements, the abort is reported to one
// later command only, and not always (MariaDB 10.11 lets a statement that
// arrives while the rollback runs succeed, and keeps the error of a
// command that has no reply). The statements after it then run in
// autocommit, and the COMMIT succeeds with nothing to commit: without
// this check a step whose INSERT was rolled back would be acknowledged.
// An abort after the check is reported by the COMMIT itself.
func (s *Store) checkTxActive(ctx context.Context, tx *sql.Tx) error {
	if s.txActive == "" {
		return nil
	}
	var active int64
	if err := tx.QueryRowContext(ctx, s.txActive).Scan(&active); err != nil {
		return translate(err)
	}
	if active == 0 {
		return fmt.Errorf("%w: the server ended the transaction before its commit (rolled back by a conflicting write on another node)", errConflict)
	}
	return nil
}

// detectTxActive picks how checkTxActive asks: MariaDB has
// @@in_transaction; MySQL lists the session's InnoDB transaction (every
// write transaction has touched InnoDB by then).
func (s *Store) detectTxActive(ctx context.Context) {
	s.txActive = `SELECT @@in_transaction`
	var active int64
	if err := s.db.DB.QueryRowContext(ctx, s.txActive).Scan(&active); err != nil {
		s.txActive = `SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()`
	}
}
