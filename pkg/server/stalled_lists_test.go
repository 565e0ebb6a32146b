package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

// TestHostileStalledListsFromManyClients: each client may have 16 lists in
// progress, each holding up to a page while its client reads, so clients
// from many addresses held as many pages as they liked: 664 stalled
// exports of GET /v1/steps from 100 addresses took stepsd from 50 MB to
// 1.1 GB. Past Config.MaxLists in progress across all clients, a list is
// answered 503 with Retry-After at once; writes are not lists, and the
// slots come back when the stalled connections close.
func TestHostileStalledListsFromManyClients(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := seed(t, fresh(t), 2000)
		const maxLists, clients, each = 20, 4, 10
		ts := httptest.NewUnstartedServer(server.New(server.Config{Store: st, MaxLists: maxLists}))
		ts.Listener = smallBuffers{ts.Listener}
		ts.Start()
		t.Cleanup(ts.Close)
		addr := ts.Listener.Addr().String()
		mem0 := measureMem(t)

		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for i := range clients {
			dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i))}, Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) }) //nolint:errcheck // only speeds the stall up
			}}
			for range each {
				c, err := dialer.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "GET /v1/steps?format=json&limit=10000 HTTP/1.1\r\nHost: stepsd\r\n\r\n")
			}
		}
		answering := make([]bool, len(conns))
		for deadline := time.Now().Add(5 * time.Second); exportsAnswering(conns, answering) < len(conns) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		mem1 := measureMem(t)
		t.Logf("%d stalled lists from %d clients: %s before, %s during", clients*each, clients, mem0, mem1)

		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, 1)}}
		client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		res, err := client.Get(ts.URL + "/v1/steps?format=json&limit=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "lists in progress") {
			t.Errorf("a list of another client while %d clients stall %d each, past %d in all: %d (Retry-After %q) %s, want 503 with Retry-After",
				clients, each, maxLists, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		if res, err := client.Post(ts.URL+"/v1/steps?component=api&version=2.0&owner=ana&status=build", "", nil); err != nil || res.StatusCode != http.StatusCreated {
			t.Errorf("a write during the stall: %v %v, want 201", res, err)
		} else {
			res.Body.Close()
		}

		closeAndWaitForLists(t, conns, client, ts.URL+"/v1/steps?format=json&limit=1")
	})
}

// closeAndWaitForLists closes the stalled connections, then waits until a
// list (url) is answered 200 again: their slots are given back as the
// server notices them gone.
func closeAndWaitForLists(t *testing.T, conns []net.Conn, client *http.Client, url string) {
	t.Helper()
	for _, c := range conns {
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a list after the stalled ones were closed: %d, want 200", res.StatusCode)
		}
	}
}
