package server_test

import (
	"errors"
	"fmt"
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

// dialFrom opens a connection to addr from the loopback address from
// (Linux routes all of 127/8 to lo), skipping where that cannot be done.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s (a loopback address other than 127.0.0.1 is needed): %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// holdHeaders opens a connection from the address from and starts a
// request on it whose headers never end, as a slow client does.
func holdHeaders(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c := dialFrom(t, from, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n") //nolint:errcheck // a refused one is closed; isOpen tells
	return c
}

// isOpen tells whether the server still holds c: a read that waits is
// open, one that ends (EOF or reset) was closed by the server.
func isOpen(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// getFrom asks for / from the address from and returns the body.
func getFrom(t *testing.T, from, addr string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
	res, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("a client from %s holding no connection was not served: %v", from, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func serveLimited(t *testing.T, perClient, total int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(server.LimitConns(ln, perClient, total))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestAClientTakesTheOldestPlaceOfTheGreediest: at the bound on all
// connections, held by one client, another client is still served, in
// the place of the greedy client's oldest connection; the greedy client's
// next connection is closed at once. Bounded only per address, a client
// under that bound held every descriptor and no one else was served.
func TestAClientTakesTheOldestPlaceOfTheGreediest(t *testing.T) {
	addr := serveLimited(t, 100, 8)
	var held []net.Conn
	for range 8 {
		held = append(held, holdHeaders(t, "127.0.0.2", addr))
	}
	for i, c := range held {
		if !isOpen(c) {
			t.Fatalf("connection %d of 8, within both bounds, was closed", i+1)
		}
	}
	over := holdHeaders(t, "127.0.0.2", addr)
	if isOpen(over) {
		t.Fatal("a ninth connection of the client holding all 8 places is open, want it closed at once")
	}
	if got := getFrom(t, "127.0.0.3", addr); got != "ok" {
		t.Fatalf("another client got %q, want ok", got)
	}
	if isOpen(held[0]) {
		t.Error("the greedy client's oldest connection is still open after another client took a place")
	}
	for i, c := range held[1:] {
		if !isOpen(c) {
			t.Errorf("the greedy client's connection %d was closed, want only its oldest", i+2)
		}
	}
}

// TestManyClientsShareTheBoundOnAllConnections: clients from several
// addresses, each under the bound per address, together hold no more than
// the bound on all connections, and one more client is served among them.
func TestManyClientsShareTheBoundOnAllConnections(t *testing.T) {
	const total = 12
	addr := serveLimited(t, 10, total)
	var held []net.Conn
	for i := range 40 {
		held = append(held, holdHeaders(t, fmt.Sprintf("127.0.0.%d", 2+i%4), addr))
	}
	if got := getFrom(t, "127.0.0.9", addr); got != "ok" {
		t.Fatalf("a new client got %q, want ok", got)
	}
	open := 0
	for _, c := range held {
		if isOpen(c) {
			open++
		}
	}
	if open > total || open < total-2 {
		t.Errorf("%d of 40 slow connections from 4 addresses are open, want the bound on all (%d), less the new client's place", open, total)
	}
}
