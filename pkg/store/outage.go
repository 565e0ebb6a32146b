package store

import (
	"context"
	"errors"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// observe notes, from the outcome of a write transaction or a ping,
// when the database stops and starts answering, and logs each change
// once. outageSince holds the UnixNano of the first failure, 0 while the
// database answers.
func (s *Store) observe(err error) {
	down := databaseAway(err)
	switch {
	case err != nil && !down, errors.Is(err, context.Canceled):
		return // the database answered, or the caller gave up: no news
	case down:
		if s.outageSince.CompareAndSwap(0, time.Now().UnixNano()) {
			s.log.Warn("database unavailable: requests that need it are answered 503 until it answers again", "err", err)
		}
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
