package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestSlowRequestGetsItsAnswer: the answer's time to be written (60 s in
// stepsd) counted from the handler's start, so a request whose body took
// most of it to arrive (a 32 MiB batch over a slow link, within the 60 s
// ReadTimeout) or that waited on the database (a dozen large batches
// queued on SQLite's one writer took 80-340 s each) was committed and
// logged 201, and its client got no answer at all: a retry without an
// Idempotency-Key stored it twice. The time now counts from the answer.
func TestSlowRequestGetsItsAnswer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		const timeout = 300 * time.Millisecond
		s := New(Config{Store: testdb.Open(t, fresh(t))})
		s.writeTimeout = timeout
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		for _, tt := range []struct{ path, ctype, body string }{
			{"/v1/steps", "application/json", `{"component":"slow-one","version":"1","owner":"ana","status":"build"}`},
			{"/v1/steps/batch", "application/x-ndjson", `{"component":"slow-batch","version":"1","owner":"ana","status":"build"}` + "\n"},
		} {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			half := len(tt.body) / 2
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
				tt.path, tt.ctype, len(tt.body), tt.body[:half])
			time.Sleep(2 * timeout) // the body arrives slowly, within any read timeout
			io.WriteString(conn, tt.body[half:])
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Errorf("POST %s with a slow body: %v, want its 201", tt.path, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("POST %s with a slow body = %d %s, want 201", tt.path, resp.StatusCode, body)
			}
		}
		for _, c := range []string{"slow-one", "slow-batch"} {
			res, err := http.Get(srv.URL + "/v1/steps?component=" + c + "&format=ndjson")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if n := strings.Count(string(got), "\n"); n != 1 {
				t.Errorf("steps of %s stored = %d, want 1", c, n)
			}
		}
	})
}
