package server_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestHostileStalledBodiesLeaveRoomForOthers: a write holds room under
// --max-write-bytes at its declared Content-Length from before its body is
// read, and a body may take 60 s to arrive. One client sending 256
// POST /v1/steps that declare 1 MiB each and then stall held all 256 MiB,
// and every other client's write with a body waited 5 s and got 503, for
// as long as the attacker kept it up. A client may now hold half of the
// room (and at least a batch of the largest size): past it, its writes get
// 429 at once, and the others are served.
func TestHostileStalledBodiesLeaveRoomForOthers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := testdb.Open(t, fresh(t))
		const body, room = 1 << 10, 16 << 10
		ts := httptest.NewServer(server.New(server.Config{Store: st, MaxBodyBytes: body, MaxBatchBytes: 4 << 10,
			MaxWriteBytes: room, WriteWait: 500 * time.Millisecond}))
		t.Cleanup(ts.Close)
		addr := ts.Listener.Addr().String()

		// The attacker, from 127.0.0.1: enough stalled bodies to fill the
		// room twice over.
		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for range 2 * room / body {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "POST /v1/steps HTTP/1.1\r\nHost: stepsd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", body)
		}
		time.Sleep(300 * time.Millisecond) // all admitted or refused

		from := func(ip string) *http.Client {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		}
		post := func(c *http.Client) response {
			t.Helper()
			req, err := http.NewRequest("POST", ts.URL+"/v1/steps", strings.NewReader(`{"component":"victim","version":"1","owner":"o","status":"build"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return response{status: res.StatusCode, header: res.Header, body: b}
		}
		started := time.Now()
		if r := post(from("127.0.0.2")); r.status != http.StatusCreated {
			t.Errorf("another client's write while one stalls its bodies: %d %s after %v, want 201", r.status, r.body, time.Since(started).Round(time.Millisecond))
		}
		r := post(from("127.0.0.1"))
		if _, code, _ := r.errorBody(t); r.status != http.StatusTooManyRequests || code != model.ERATELIMITED || r.header.Get("Retry-After") == "" {
			t.Errorf("the stalling client's next write: %d %s, want 429 with Retry-After", r.status, r.body)
		}

		// Its room comes back when its connections close.
		for _, c := range conns {
			c.Close()
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if r := post(from("127.0.0.1")); r.status == http.StatusCreated {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("the client's write after its stalled ones closed: %d %s, want 201", r.status, r.body)
			}
		}
	})
}

// TestHostileStalledBodiesFromTwoClients: each client may hold half of the
// room under --max-write-bytes, so two clients stalling their bodies held
// all of it, and every other client's write with a body waited 5 s for a
// 503, for as long as they kept it up (two addresses, each with 128
// POST /v1/steps declaring 1 MiB and sending a byte every 5 s, against the
// default 256 MiB). A body now has 2 s for its first bytes and must then
// keep arriving, so a stalled one gives its room back before another
// write's wait is over.
func TestHostileStalledBodiesFromTwoClients(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := testdb.Open(t, fresh(t))
		const body, room = 1 << 10, 16 << 10
		ts := httptest.NewServer(server.New(server.Config{Store: st, MaxBodyBytes: body, MaxBatchBytes: 4 << 10, MaxWriteBytes: room}))
		t.Cleanup(ts.Close)
		addr := ts.Listener.Addr().String()

		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for _, ip := range []string{"127.0.0.1", "127.0.0.3"} {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			for range room / 2 / body {
				c, err := d.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				fmt.Fprintf(c, "POST /v1/steps HTTP/1.1\r\nHost: stepsd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", body)
			}
		}
		time.Sleep(300 * time.Millisecond) // all admitted

		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		victim := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		req, err := http.NewRequest("POST", ts.URL+"/v1/steps", strings.NewReader(`{"component":"victim","version":"1","owner":"o","status":"build"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		started := time.Now()
		res, err := victim.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Errorf("another client's write while two stall their bodies: %d %s after %v, want 201", res.StatusCode, b, time.Since(started).Round(time.Millisecond))
		}

		// The stalled body is told why it was cut.
		conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
		answer, _ := io.ReadAll(conns[0])
		if !strings.HasPrefix(string(answer), "HTTP/1.1 400") || !strings.Contains(string(answer), "time to read a request ran out") {
			t.Errorf("a stalled body's answer: %.300q, want a 400 saying its time ran out", answer)
		}
	})
}
