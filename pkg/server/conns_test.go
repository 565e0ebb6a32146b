package server_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/server"
)

// TestClientConnectionsAreBounded: a client holding its share of
// connections, headers unfinished, gets its next one closed at once;
// once it lets one go, it may open another. Unbounded, one client held
// every file descriptor stepsd may open.
func TestClientConnectionsAreBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(server.LimitListener(ln, 3))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil { // headers never finished
			t.Fatal(err)
		}
		held = append(held, c)
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	io.WriteString(over, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") //nolint:errcheck // the server may have closed it already
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := over.Read(make([]byte, 64)); n > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a fourth connection was served (read %d bytes, %v), want it closed", n, err)
	}

	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + addr + "/")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a connection closed, a new one is still refused: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
