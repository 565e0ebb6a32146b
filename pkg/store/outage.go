package store

import (
	"context"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/steps-dev/steps/pkg/model"
)

// observe notes, from the outcome of a write transaction (write) or a
// ping, when the database stops and starts answering, and logs each
// change once. outageSince holds the UnixNano of the first failure, 0
// while the database answers. An outage that only writes meet (a full
// disk, a file turned read-only: writesOnly) ends only with a write: reads
// and pings go on answering meanwhile, and each ping (a readiness probe
// every few seconds) logged "database available again", the next write
// "database unavailable".
func (s *Store) observe(err error, write bool) {
	down := databaseAway(err)
	switch {
	case err != nil && !down, errors.Is(err, context.Canceled):
		return // the database answered, or the caller gave up: no news
	case down:
		if s.outageSince.CompareAndSwap(0, time.Now().UnixNano()) {
			s.outageByWrite.Store(write && writesOnly(err))
			s.log.Warn("database unavailable: requests that need it are answered 503 until it answers again", "err", err)
		}
	case !write && s.outageByWrite.Load():
		return // a read answering says nothing of writes
	default:
		if since := s.outageSince.Load(); since != 0 && s.outageSince.CompareAndSwap(since, 0) {
			s.log.Info("database available again", "unavailable_seconds", time.Since(time.Unix(0, since)).Seconds())
		}
	}
}

// databaseAway says whether err means the database did not answer: for
// the outage log, and for a commit lane, which answers what queued behind
// such a failure at once. A conflict is the database answering.
func databaseAway(err error) bool {
	return err != nil && model.ErrorCode(err) == model.EUNAVAILABLE && !retryable(err) && !errors.Is(err, errClosed)
}

// writesOnly says whether err, a write's, is one that reads do not meet:
// SQLite's disk full or read-only file.
func writesOnly(err error) bool {
	var lite *sqlite.Error
	if !errors.As(err, &lite) {
		return false
	}
	code := lite.Code() & 0xff
	return code == sqlite3.SQLITE_FULL || code == sqlite3.SQLITE_READONLY
}
