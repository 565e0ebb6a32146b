package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestBodyShorterThanItsContentLength: a client that declares more bytes
// than it sends, then stops sending (a proxy or script that dropped the
// end of a body), got `read request body: unexpected EOF` with no field,
// net/http's words, which say neither which body nor what about it. It is
// a 400 on field body saying the body ended before its Content-Length.
func TestBodyShorterThanItsContentLength(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for _, tt := range []struct{ path, contentType, body string }{
			{"/v1/steps", "application/json", `{"component":"api"`},
			{"/v1/steps/batch", "application/json", `[{"component":"api"`},
			{"/v1/steps/batch", "text/csv", "component,version,owner,status\napi,1,"},
		} {
			t.Run(tt.path+" "+tt.contentType, func(t *testing.T) {
				before := ts.count(t)
				c, err := net.Dial("tcp", ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: stepsd\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", tt.path, tt.contentType, len(tt.body)+100, tt.body)
				c.(*net.TCPConn).CloseWrite() //nolint:errcheck // the answer tells
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				r := response{status: res.StatusCode, header: res.Header, body: b}
				refused(t, ts, tt.path, before, r, http.StatusBadRequest, "body")
				if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "Content-Length") {
					t.Errorf("error %q; want it to say the body is shorter than its Content-Length", msg)
				}
			})
		}
	})
}
