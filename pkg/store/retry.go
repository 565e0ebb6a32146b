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
		_, retry := mysqlCode(my.Number)
		return retry
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
	return s.writeTxTries(ctx, maxTries, fn)
}

// writeTxTries is writeTx with at most tries runs of fn.
func (s *Store) writeTxTries(ctx context.Context, tries int, fn func(*sql.Tx) error) error {
	wait := retryFirst
	for try := 1; ; try++ {
		err := s.writeTxOnce(ctx, fn)
		if err == nil || try >= tries || !retryable(err) {
			if errors.Is(err, errConflict) {
				return unavailable("database", err)
			}
			return err
		}
		// Full jitter: writers that collided do not collide again in step.
		select {
		case <-ctx.Done():
			return translate(ctx.Err())
		case <-time.After(rand.N(wait) + time.Millisecond):
		}
		wait = min(2*wait, retryMax)
	}
}

func (s *Store) writeTxOnce(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	defer func() { s.observe(err, true) }()
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		// SQLite's BEGIN, cut by the context, says "interrupted".
		return endedWith(ctx, translate(err))
	}
	if s.guardTx {
		err = guarded(ctx, tx, fn)
	} else {
		err = fn(tx)
	}
	if err != nil {
		tx.Rollback() //nolint:errcheck // the first error is the one to report
		return endedWith(ctx, err)
	}
	return endedWith(ctx, translate(tx.Commit()))
}

// endedWith reports err, of a transaction begun with ctx, as the context's
// error when ctx has ended: database/sql then rolls the transaction back,
// and what comes after says only sql.ErrTxDone or "statement is closed".
func endedWith(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return translate(ctx.Err())
	}
	return err
}

// txSavepoint marks a guarded transaction (see guarded).
const txSavepoint = "steps_tx"

// guarded runs fn in tx on a Galera node. A node brute-force aborts a
// local transaction that a replicated write conflicts with, and MariaDB
// 10.11 does not always say so: a statement in flight can succeed though
// its transaction was rolled back. With autocommit off (writepool.go),
// what follows falls into a new transaction, and the savepoint only the
// one begun holds is then missing at its release before COMMIT: the
// attempt is run again as a conflict. An abort after the release fails
// the COMMIT.
func guarded(ctx context.Context, tx *sql.Tx, fn func(*sql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT `+txSavepoint); err != nil {
		return translate(err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT `+txSavepoint)
	var my *mysql.MySQLError
	if errors.As(err, &my) && my.Number == 1305 { // ER_SP_DOES_NOT_EXIST: it went with the transaction
		return fmt.Errorf("%w: the server ended the transaction before its commit (a conflicting write on another node)", errConflict)
	}
	return translate(err)
}

// detectGalera sets guardTx on a Galera node (see guarded).
func (s *Store) detectGalera(ctx context.Context) {
	var on sql.NullBool
	err := s.db.DB.QueryRowContext(ctx, `SELECT @@wsrep_on`).Scan(&on)
	s.guardTx = err == nil && on.Valid && on.Bool
}
