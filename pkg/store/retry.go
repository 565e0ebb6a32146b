package store

import (
	"context"
	"database/sql"
	"errors"
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
	return translate(tx.Commit())
}
