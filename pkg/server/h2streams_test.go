package server_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/h2raw"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

// h2Server is a stepsd over TLS with HTTP/2, on SQLite.
func h2Server(t *testing.T, cfg server.Config) *httptest.Server {
	cfg.Store = testdb.Open(t, testdb.SQLite(t))
	ts := httptest.NewUnstartedServer(server.New(cfg))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// h2Stall opens conns HTTP/2 connections to ts from ip (any loopback
// address when nil), each with streams GETs of path whose answers are
// never taken: SETTINGS_INITIAL_WINDOW_SIZE (4) = 0. The frames the
// server sends are read, so that only the windows hold the answers.
func h2Stall(t *testing.T, ts *httptest.Server, ip net.IP, conns, streams int, path string) {
	t.Helper()
	addr := ts.Listener.Addr().String()
	from := &net.Dialer{}
	if ip != nil {
		from.LocalAddr = &net.TCPAddr{IP: ip}
	}
	for range conns {
		c, err := tls.DialWithDialer(from, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Fatalf("protocol %q, want h2", p)
		}
		go io.Copy(io.Discard, c) //nolint:errcheck // see above
		out := append(append([]byte(h2raw.Preface), h2raw.InitialWindow(0)...), h2raw.Requests(addr, path, streams)...)
		if _, err := c.Write(out); err != nil {
			t.Fatal(err)
		}
	}
}

// settledGoroutines waits until the goroutines past before stop changing
// (each stalled answer holds one until its 60 s are up; refused ones end
// at once) and returns how many there are.
func settledGoroutines(t *testing.T, before int) int {
	t.Helper()
	held := -1
	for range 20 {
		time.Sleep(300 * time.Millisecond)
		now := runtime.NumGoroutine() - before
		if now == held {
			break
		}
		held = now
	}
	t.Logf("%d goroutines", held)
	return held
}

// getFromAnotherClient asks ts for each path from 127.0.0.2, an address
// no stalling client uses, and checks the status each answers.
func getFromAnotherClient(t *testing.T, ts *httptest.Server, beside string, want map[string]int) {
	t.Helper()
	from := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	d := &http.Transport{DialContext: from.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer d.CloseIdleConnections()
	for path, status := range want {
		res, err := (&http.Client{Transport: d, Timeout: 5 * time.Second}).Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != status {
			t.Errorf("another client's GET %s beside %s = %d, want %d", path, beside, res.StatusCode, status)
		}
		if status == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s = 503 without Retry-After", path)
		}
	}
}

// TestHTTP2StreamsStalledAreBoundedPerClient: a client over HTTP/2 opens
// 250 streams on each of its connections, with a flow-control window of 0
// so that it never takes an answer. Over HTTP/1 each request held a
// connection, bounded per client; over HTTP/2, 40 connections took stepsd
// to 16,600 goroutines and 536 MB in 4 s. The requests in progress are now
// bounded per client address across its streams: past the bound a stream
// gets a 429 at once, which holds nothing.
func TestHTTP2StreamsStalledAreBoundedPerClient(t *testing.T) {
	const bound, conns, streams = 50, 4, 250
	ts := h2Server(t, server.Config{MaxClientRequests: bound})
	before := runtime.NumGoroutine()
	h2Stall(t, ts, nil, conns, streams, "/healthz")
	if held, limit := settledGoroutines(t, before), bound+10*conns+50; held > limit {
		t.Errorf("%d stalled streams from one client held %d goroutines, want at most %d (%d requests in progress and the connections')", conns*streams, held, limit, bound)
	}
	getFromAnotherClient(t, ts, "the stalled streams", map[string]int{"/healthz": http.StatusOK})
}

// TestHTTP2StreamsStalledAreBoundedOverAllClients: the bound per address
// multiplies by the addresses a client has. 30 loopback addresses, each
// within its 1,024, held 30,000 streams of /metrics with a window of 0
// and took stepsd to 1.7 GB, where no probe was answered within 20 s. The
// requests in progress are now bounded across all clients too: past it a
// stream gets a 503 at once, and probes are still answered.
func TestHTTP2StreamsStalledAreBoundedOverAllClients(t *testing.T) {
	const perClient, total, addrs, streams = 100, 150, 4, 100
	ts := h2Server(t, server.Config{MaxClientRequests: perClient, MaxRequests: total})
	before := runtime.NumGoroutine()
	for i := range addrs {
		h2Stall(t, ts, net.IPv4(127, 0, 0, byte(11+i)), 1, streams, "/v1/openapi.yaml")
	}
	if held, limit := settledGoroutines(t, before), total+10*addrs+50; held > limit {
		t.Errorf("%d stalled streams from %d addresses, each within its %d, held %d goroutines, want at most %d (%d requests in progress across all clients and the connections')",
			addrs*streams, addrs, perClient, held, limit, total)
	}
	getFromAnotherClient(t, ts, "the stalled streams", map[string]int{
		"/readyz": http.StatusOK, "/healthz": http.StatusOK, "/v1/openapi.yaml": http.StatusServiceUnavailable})
}

// TestHTTP2ProbesPastTheBoundAreBounded: /healthz and /readyz are answered
// past the bound on requests in progress across all clients, and were not
// counted there: once stalled streams of one client had filled it, another
// address's 500 stalled streams of /healthz (window 0) each held a
// goroutine and its answer, as many as it cared to open, the growth the
// bound is there to stop. Probes past it are now bounded too (a few per
// address, a few dozen in all), and another client's probes still get 200.
func TestHTTP2ProbesPastTheBoundAreBounded(t *testing.T) {
	const total, conns, streams = 100, 2, 250
	ts := h2Server(t, server.Config{MaxRequests: total})
	before := runtime.NumGoroutine()
	h2Stall(t, ts, net.IPv4(127, 0, 0, 21), 1, total, "/v1/openapi.yaml")
	settledGoroutines(t, before)
	h2Stall(t, ts, net.IPv4(127, 0, 0, 22), conns, streams, "/healthz")
	// Counted from the start, so that stalled exports still arriving on a
	// loaded host are within the figure: the bound, a few probes and
	// the connections' own goroutines.
	if held, limit := settledGoroutines(t, before), total+10*(1+conns)+50; held > limit {
		t.Errorf("%d stalled /healthz streams from one address past the bound of %d held %d goroutines, want at most %d",
			conns*streams, total, held, limit)
	}
	getFromAnotherClient(t, ts, "the stalled probes", map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK})
}
