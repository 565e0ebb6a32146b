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
