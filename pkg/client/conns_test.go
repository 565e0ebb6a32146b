package client_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentCallsReuseTheirConnections: a program recording from 16
// goroutines through one Client, each pausing a few milliseconds between
// calls. Over Go's default transport, which keeps two idle connections a
// host, a call that ended while two were idle closed its connection and
// the next dialled a new one: 320 calls opened 155 connections, and left
// as many sockets in TIME_WAIT; now 16.
func TestConcurrentCallsReuseTheirConnections(t *testing.T) {
	// Answers that take a few milliseconds, as over a network or a busy
	// database, keep the goroutines' calls in flight together.
	srv := startStepsd(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(5 * time.Millisecond)
			h.ServeHTTP(w, r)
		})
	})
	c := mustClient(t, srv.URL)
	const goroutines, calls = 16, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				time.Sleep(time.Duration(i%4) * 3 * time.Millisecond)
				if _, err := c.Record(context.Background(), input(fmt.Sprintf("svc-%d", g), fmt.Sprint(i), "build")); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	conns := map[string]bool{}
	for _, r := range srv.sent("POST /v1/steps") {
		conns[r.RemoteAddr] = true
	}
	if len(conns) > 2*goroutines {
		t.Errorf("%d calls from %d goroutines opened %d connections, want at most %d", goroutines*calls, goroutines, len(conns), 2*goroutines)
	}
	t.Logf("%d calls from %d goroutines opened %d connections", goroutines*calls, goroutines, len(conns))
}

// countingTransport counts the requests it carries to next.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestReplacedDefaultTransportIsUsed: a program that sets
// http.DefaultTransport to a RoundTripper of its own (instrumentation, or
// a test's mock such as httpmock.Activate) after a Client was first made,
// say by a package-level variable, had it used by every Client, as
// net/http's own clients do; the pooled copy taken at the first New then
// sent every call past it, to the network.
func TestReplacedDefaultTransportIsUsed(t *testing.T) {
	srv := startStepsd(t)
	before := mustClient(t, srv.URL)
	mustRecord(t, before, input("api", "1", "build"))

	counting := &countingTransport{next: http.DefaultTransport}
	saved := http.DefaultTransport
	http.DefaultTransport = counting
	t.Cleanup(func() { http.DefaultTransport = saved })

	mustRecord(t, before, input("api", "1", "tests"))
	mustRecord(t, mustClient(t, srv.URL), input("api", "1", "finished"))
	if n := counting.n.Load(); n != 2 {
		t.Errorf("the program's DefaultTransport carried %d of 2 calls, want 2", n)
	}
}
