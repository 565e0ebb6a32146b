package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steps-dev/steps/pkg/model"
)

// errDuplicate marks a unique-key violation; callers decide what it means.
var errDuplicate = errors.New("duplicate key")

// mysqlCode says what a MySQL or MariaDB error number means to the store:
// the reason it is EUNAVAILABLE ("" if it is not), and whether it is a
// conflict with another writer, for writeTx to run the transaction again.
// ER_DUP_ENTRY (1062) is errDuplicate, apart.
func mysqlCode(n uint16) (unavailable string, retry bool) {
	switch n {
	case 1205, 1213: // lock wait timeout; deadlock, also Galera's certification failure
		return "database", true
	case 1020, 1180: // record changed since last read; error during commit
		return "database node not ready", true
	case 1040, 1053, 2002, 2003, 2006, 2013: // too many connections, shutdown, gone away
		return "database", false
	case 1047: // Galera node not ready (joining, out of quorum)
		return "database node not ready", false
	case 1049, 1146: // unknown database, no such table: the database was dropped under us
		return "database or its tables are gone (dropped?)", false
	case 1290, 1836: // read-only server (--read-only, a replica)
		return "database is read-only", false
	}
	return "", false
}

// translate maps driver errors to the domain's in one place: a unique
// violation becomes errDuplicate, a lost or refused connection EUNAVAILABLE.
// Anything else stays as it is and is reported as internal.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The time given to the database ran out (a group commit's
		// groupTimeout, a probe's): it is unavailable, not a fault of
		// ours, and a 503 says so where a 500 said "internal error".
		return unavailable("database did not answer in time", err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		if my.Number == 1062 { // ER_DUP_ENTRY
			return fmt.Errorf("%w: %v", errDuplicate, err)
		}
		if my.Number == 1021 || my.Number == 1114 { // ER_DISK_FULL, ER_RECORD_FILE_FULL
			return diskFull(err)
		}
		if reason, _ := mysqlCode(my.Number); reason != "" {
			return unavailable(reason, err)
		}
		return err
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", errDuplicate, err)
		}
		// Primary codes, whatever the extended one: SQLITE_BUSY_SNAPSHOT
		// is as busy as SQLITE_BUSY, and retryable retries both.
		switch lite.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return unavailable("database busy", err)
		case sqlite3.SQLITE_READONLY:
			return unavailable("database file is read-only", err)
		case sqlite3.SQLITE_FULL:
			return diskFull(err)
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return unavailable("database file cannot be written", err)
		case sqlite3.SQLITE_ERROR:
			// As MySQL's 1146: the migrated tables are gone. With SQLite
			// that is the file deleted under a running stepsd, and a new
			// connection opening a new, empty file at its path. SQLite
			// gives no code of its own for it, only the message.
			if strings.Contains(lite.Error(), "no such table") {
				return unavailable("database file was deleted or replaced (no such table)", err)
			}
		}
		return err
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &netErr) {
		return unavailable("database", err)
	}
	return err
}

// unavailableError is an EUNAVAILABLE *model.Error that keeps the driver's
// error for the server log without showing it to users.
type unavailableError struct {
	model *model.Error
	cause error
}

func (e *unavailableError) Error() string { return e.model.Message + ": " + e.cause.Error() }

func (e *unavailableError) Unwrap() []error { return []error{e.model, e.cause} }

func unavailable(what string, cause error) error {
	return &unavailableError{
		model: model.Errorf(model.EUNAVAILABLE, "the database is unavailable; try again shortly"),
		cause: fmt.Errorf("%s: %w", what, cause),
	}
}

// diskFull is the EUNAVAILABLE error of a write the database refused for
// want of space (/readyz stays ready: reads still work): clients were
// told "the database is unavailable; try again shortly", which sent their
// operators looking for an outage when a disk needed room.
func diskFull(cause error) error {
	return &unavailableError{
		model: model.Errorf(model.EUNAVAILABLE, "the database's disk is full: nothing can be stored until space is freed on it; try again later"),
		cause: fmt.Errorf("database disk full: %w", cause),
	}
}

// connectError explains a failure to connect to the database named db.
// A missing database or a refused login will not go away by waiting, so
// they are not EUNAVAILABLE (which stepsd waits out at start-up) but say
// what to fix.
func connectError(err error, db string) error {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1049: // ER_BAD_DB_ERROR
			// The statement names the DSN's database, so that it can be run
			// as it is printed.
			return fmt.Errorf("the database does not exist on the server; create it first: CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin (%v)", quoteIdent(db), err)
		case 1044, 1045, 1698: // access denied to the database, or for the user
			return fmt.Errorf("the server refused the DSN's user and password, or their access to the database (%v)", err)
		}
	}
	return unavailable("connect to database", err)
}

// quoteIdent writes a database name as SQL takes it: bare when it is
// letters, digits and underscores only and does not start with a digit,
// else between backticks. MySQL refuses a bare name of digits alone
// ("123"), and reads one such as "1e5" as a number.
func quoteIdent(name string) string {
	if name == "" {
		return "name"
	}
	if name[0] >= '0' && name[0] <= '9' {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "`" + strings.ReplaceAll(name, "`", "``") + "`"
		}
	}
	return name
}
