package store

import (
	"context"
	"time"
)

// ParseDBTime exposes parseDBTime to the tests.
var ParseDBTime = parseDBTime

// ForceReadBackIDs makes the store read inserted ids back by key, as on a
// database that does not promise consecutive ids.
func ForceReadBackIDs(s *Store) { s.consecutiveIDs = false }

// Unpack exposes unpack to the tests.
var Unpack = unpack

// SetDeriveLimits shrinks what a list waits for and derives itself, and
// the steps reset per transaction, so that tests reach them.
func SetDeriveLimits(s *Store, listWait time.Duration, listRows, resetRows int) {
	s.limits = deriveLimits{listWait: listWait, listRows: listRows, resetRows: resetRows}
}

// HoldDerivation takes s's derivation locks, as a long pass would, until
// release.
func HoldDerivation(ctx context.Context, s *Store) (release func(), err error) {
	return s.acquireDerivation(ctx, time.Second)
}
