package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// refusalLogEvery is how often at most the 503s are logged beyond the
// request log's own line per request.
const refusalLogEvery = 10 * time.Second

// refusalLog logs the 503s (the database away, lists or analyses at their
// bound, no room for a write) at WARN, one line per refusalLogEvery with
// the number answered since the previous one. Each was an ERROR line of
// its own: during an outage every request added one to the request log's
// line, a flood at the level pagers watch, for a state the store already
// announces once ("database unavailable") and load shedding that is
// stepsd working as configured. The request log and
// steps_http_requests_total still count every one.
type refusalLog struct {
	mu      sync.Mutex
	last    time.Time // when the last line was written
	unsaid  int       // 503s since then, not yet in a line
	latest  error     // the newest of those
	latestP string    // its path
}

// note counts a 503 answered for err on path and logs a line when the
// last one is refusalLogEvery old.
func (l *refusalLog) note(ctx context.Context, log *slog.Logger, path string, err error) {
	now := time.Now()
	l.mu.Lock()
	l.unsaid++
	l.latest, l.latestP = err, path
	if !l.last.IsZero() && now.Sub(l.last) < refusalLogEvery {
		l.mu.Unlock()
		return
	}
	n, err, path := l.unsaid, l.latest, l.latestP
	l.last, l.unsaid, l.latest = now, 0, nil
	l.mu.Unlock()
	log.WarnContext(ctx, "requests answered 503", "count", n, "per_seconds", refusalLogEvery.Seconds(), "path", path, "err", err)
}
