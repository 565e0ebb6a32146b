package server

import (
	"net/http"

	"github.com/steps-dev/steps/pkg/model"
)

// DefaultMaxRequests bounds the requests in progress across all clients
// (Config.MaxRequests). Over HTTP/2 each stalled stream holds a goroutine
// and its answer: 30 loopback addresses, each within its 1,024, held
// 30,000 streams of /metrics with a flow-control window of 0 and took
// stepsd to 1.7 GB, where no probe was answered within 20 s. At this
// bound such requests hold about 250 MB (about 55 KB each).
const DefaultMaxRequests = 4096

// Probes (/healthz, /readyz) are answered past DefaultMaxRequests, so that
// a replica whose slots stalled clients hold is not restarted or taken
// out of service for it, but within bounds of their own: uncounted, one
// address's 500 stalled streams of /healthz held 500 goroutines and
// answers, as many as it cared to open, the growth the bound is there to
// stop. A kubelet or a load balancer has one or two probes in progress at
// a time.
const (
	probesPastBound       = 64
	clientProbesPastBound = 4
)

// limitRequests bounds the requests one client address (an IPv6 /64, as
// the connections are keyed) has in progress at once, over all its
// connections and HTTP/2 streams. Over HTTP/1 a request holds a
// connection, so MaxClientConns already bounds them; over HTTP/2 (served
// with --tls-cert) each connection carries up to 250 streams, and 40
// connections of 250 streams asking for /metrics with a flow-control
// window of 0, so never reading an answer, held 16,600 goroutines and took
// stepsd from 30 MB to 536 MB in 4 s; 1,024 connections would have held
// 256,000 answers for the minute each may take.
//
// A request is counted until its answer is written out: over HTTP/2 the
// answer is flushed here, since what the handler leaves buffered is
// written after it returns, and an answer that waits for a window the
// client never opens would otherwise hold its goroutine uncounted.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	if s.requests == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := clientAddr(r.RemoteAddr)
		if ok, full := s.requests.enter(key); !ok {
			if full && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
				if ok, _ := s.probes.enter(key); ok {
					defer s.probes.leave(key)
					serveCounted(next, w, r)
					return
				}
			}
			w.Header().Set("Retry-After", "1")
			status, err := http.StatusTooManyRequests, model.Errorf(model.ERATELIMITED,
				"this client address already has %d requests in progress, the limit (--max-client-conns); wait for their answers before sending more, or retry after 1 s", s.requests.max)
			if full {
				status, err = http.StatusServiceUnavailable, model.Errorf(model.EUNAVAILABLE,
					"the server already has %d requests in progress from all clients, its limit; retry after 1 s", s.requests.total)
			}
			if r.ProtoMajor >= 2 {
				// No body: a body waits for the client's flow-control
				// window, which a client that stalls its streams never
				// opens, and the refusal would hold what it refuses. The
				// status and headers are not flow-controlled.
				w.WriteHeader(status)
				return
			}
			s.writeError(w, r, err)
			return
		}
		defer s.requests.leave(key)
		serveCounted(next, w, r)
	})
}

// serveCounted answers r with next, over HTTP/2 writing the answer out
// before returning, so that the slot it is counted in is held until then.
func serveCounted(next http.Handler, w http.ResponseWriter, r *http.Request) {
	next.ServeHTTP(w, r)
	if r.ProtoMajor >= 2 {
		// Over HTTP/1 a flush would turn every answer chunked; there
		// the connection holds the request until it is written.
		http.NewResponseController(w).Flush() //nolint:errcheck // a client gone or cut off: nothing left to write
	}
}
