package server

import (
	"container/list"
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Defaults of the bounds on writes waiting for the store.
const (
	// DefaultMaxWriteBytes bounds the bytes of request bodies that the
	// writes in progress (POST /v1/steps, /v1/steps/batch, the webhooks)
	// hold at once: eight batches of the largest size.
	DefaultMaxWriteBytes = 8 * DefaultMaxBatchBytes
	// DefaultClientBatches bounds the POST /v1/steps/batch requests one
	// client may have in progress at once.
	DefaultClientBatches = 8
	// DefaultWriteWait is how long a write waits for room under
	// MaxWriteBytes before it is refused with 503.
	DefaultWriteWait = 5 * time.Second
)

// byteGate is a weighted semaphore over bytes, served in order of arrival:
// a large body waiting is not overtaken by small ones that keep coming, so
// a batch of the largest size waits its turn and is never starved.
type byteGate struct {
	size    int64
	mu      sync.Mutex
	held    int64
	waiting list.List // of *byteWaiter, first come first
}

type byteWaiter struct {
	n     int64
	ready chan struct{} // closed once n is held for it
}

// acquire holds n bytes (at most size), waiting in line until they are
// free or ctx ends.
func (g *byteGate) acquire(ctx context.Context, n int64) error {
	g.mu.Lock()
	if g.waiting.Len() == 0 && g.held+n <= g.size {
		g.held += n
		g.mu.Unlock()
		return nil
	}
	wt := &byteWaiter{n: n, ready: make(chan struct{})}
	e := g.waiting.PushBack(wt)
	g.mu.Unlock()
	select {
	case <-wt.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-wt.ready:
		// Granted as the wait ended: give the bytes back.
		g.held -= n
	default:
		g.waiting.Remove(e)
	}
	// A large waiter leaving the head of the line may let smaller ones
	// behind it in.
	g.grant()
	return ctx.Err()
}

// release gives back n bytes held by acquire.
func (g *byteGate) release(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held -= n
	g.grant()
}

// grant hands free bytes to the waiters at the head of the line.
func (g *byteGate) grant() {
	for e := g.waiting.Front(); e != nil; e = g.waiting.Front() {
		wt := e.Value.(*byteWaiter)
		if g.held+wt.n > g.size {
			return
		}
		g.held += wt.n
		g.waiting.Remove(e)
		close(wt.ready)
	}
}

// clientBytes counts, per client, the bytes a client's writes hold or
// wait for under the byteGate. Without it one client could take all the
// room with bodies it never sends: 256 POST /v1/steps declaring 1 MiB each
// and stalled (each may take 60 s to arrive) held all 256 MiB, and every
// other client's write with a body got 503 after waiting 5 s, for as long
// as the attacker kept it up. The map holds only clients with a write in
// progress, so it is bounded by the open connections.
type clientBytes struct {
	max  int64
	mu   sync.Mutex
	held map[string]int64
}

// take counts n bytes for key, or reports false when key would pass max.
func (c *clientBytes) take(key string, n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key]+n > c.max {
		return false
	}
	c.held[key] += n
	return true
}

// bytes returns the bytes counted for key.
func (c *clientBytes) bytes(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[key]
}

// give gives back n bytes counted by take.
func (c *clientBytes) give(key string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] -= n; c.held[key] <= 0 {
		delete(c.held, key)
	}
}

// holdBodies admits a write whose body may be up to limit bytes, holding
// room for it under Config.MaxWriteBytes until h has answered. A write
// reads its whole body (a batch into its parsed rows) and keeps it while
// it waits for the store's single writer: twelve concurrent 20 MB batches
// took stepsd to 380 MB and waited minutes each, and a burst of them would
// have run it out of memory. The room taken is the declared Content-Length,
// or limit for a body that declares none. A write waits its turn up to
// writeWait, then gets 503 with Retry-After; nothing of it was read or
// stored. A client (keyed as the rate limit keys it) whose writes would
// hold more than its share (Config.ClientWriteBytes) gets 429 at once, and
// with perClient (batches), so does one with Config.ClientBatches batches
// in progress, as for lists.
func (s *Server) holdBodies(limit int64, perClient bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var key string
		if perClient {
			key = s.clientKey(r)
			if ok, _ := s.batches.enter(key); !ok {
				w.Header().Set("Retry-After", "1")
				s.writeError(w, r, model.Errorf(model.ERATELIMITED,
					"this client already has %d batches in progress, the limit; wait for their answers before sending another, or retry after 1 s", s.batches.max))
				return
			}
			defer s.batches.leave(key)
		}
		n := r.ContentLength
		if n < 0 {
			n = limit
		}
		// No body, or one the handler refuses with 413 unread: nothing
		// to hold.
		if n == 0 || n > limit {
			h.ServeHTTP(w, r)
			return
		}
		n = min(n, s.writes.size)
		if key == "" {
			key = s.clientKey(r)
		}
		if !s.clientWrites.take(key, n) {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, model.Errorf(model.ERATELIMITED,
				"this client's writes in progress already hold %d of the %d bytes of request bodies one client may (half of --max-write-bytes, at least --max-batch-bytes and --max-body-bytes), and this one declares %d; wait for their answers before sending more, or retry after 1 s; nothing of it was read or stored",
				s.clientWrites.bytes(key), s.clientWrites.max, n))
			return
		}
		defer s.clientWrites.give(key, n)
		ctx, cancel := context.WithTimeout(r.Context(), s.writeWait)
		err := s.writes.acquire(ctx, n)
		cancel()
		if err != nil {
			// writeError sets Retry-After: 5 on every 503.
			s.writeError(w, r, model.Errorf(model.EUNAVAILABLE,
				"the server is busy: the writes in progress hold %d bytes of request bodies, its bound (--max-write-bytes), and this one found no room in %s; nothing of it was read or stored: retry after 5 s",
				s.writes.size, s.writeWait))
			return
		}
		defer s.writes.release(n)
		r.Body = pace(w, r, time.Now())
		h.ServeHTTP(w, r)
	})
}

// A body that holds room under the byteGate must keep arriving: bodyGrace
// for its first bytes, then at least minBodyRate bytes a second, within
// the time any body has (the http.Server's ReadTimeout, 60 s in stepsd;
// bodyTime without one). The room is
// counted at the declared Content-Length before a byte arrives, so a
// stalled body cost its client nothing while it held the room for 60 s:
// two clients, each sending its half of 256 MiB as 128 POST /v1/steps
// declaring 1 MiB and then a byte every 5 s, held it all, and every other
// client's write with a body got 503 after 5 s, for as long as they kept it
// up. Cut after bodyGrace, a stalled body holds the room for less than a
// write waits for it (WriteWait, 5 s), and holding it longer costs the
// client bandwidth.
const (
	bodyGrace   = 2 * time.Second
	minBodyRate = 16 << 10
	bodyTime    = 60 * time.Second
)

// pacedBody moves the connection's read deadline on as the body arrives:
// start+bodyGrace, plus a second for every minBodyRate bytes read.
type pacedBody struct {
	io.ReadCloser
	rc         *http.ResponseController
	start, end time.Time
	got        int64
}

// pace wraps body so that it must arrive as pacedBody says, from start.
func pace(w http.ResponseWriter, r *http.Request, start time.Time) io.ReadCloser {
	body := r.Body
	end := start.Add(bodyTime)
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
		end = start.Add(srv.ReadTimeout)
	}
	b := &pacedBody{ReadCloser: body, rc: http.NewResponseController(w), start: start, end: end}
	b.rc.SetReadDeadline(b.deadline()) //nolint:errcheck // a connection without deadlines keeps the server's
	return b
}

func (b *pacedBody) deadline() time.Time {
	d := b.start.Add(bodyGrace + time.Duration(b.got)*time.Second/minBodyRate)
	if d.After(b.end) {
		return b.end
	}
	return d
}

func (b *pacedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.got += int64(n)
	if err == io.EOF {
		// Read whole: the connection's own bound applies again while
		// the write waits for the store (net/http reads on after the
		// body's end to notice a client gone, and a deadline passing
		// there would cancel the write).
		b.rc.SetReadDeadline(b.end) //nolint:errcheck // as in pace
	} else if n > 0 {
		b.rc.SetReadDeadline(b.deadline()) //nolint:errcheck // as in pace
	}
	return n, err
}
