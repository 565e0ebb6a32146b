package main

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/h2raw"
	"github.com/steps-dev/steps/internal/testdb"
)

// TestHTTP2ConnectionStalledAtTCPIsClosed: a client over HTTP/2 opens its
// windows wide, asks for more than the TCP buffers hold, and stops reading
// its socket. Each handler's write deadline fired, but over HTTP/2 it is
// released only once its stream's reset is written, which a connection
// nothing is read from never writes: 128 such connections asking for an
// export held every list slot for as long as they stayed connected (past
// the 60 s of a write and the 120 s idle), so every other client's lists
// got 503. A connection that takes no byte for the write timeout is now
// closed.
func TestHTTP2ConnectionStalledAtTCPIsClosed(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSignedCert(t, dir)
	m := &Main{Config: Config{DB: testdb.SQLite(t), TLSCert: certFile, TLSKey: keyFile, Listen: "127.0.0.1:0"},
		Logger: discard(), writeByteTimeout: time.Second}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	defer m.Close()

	// A receive buffer set before connecting, so that the window the
	// kernel advertises stays small.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); cerr != nil {
			return cerr
		}
		return err
	}}
	raw, err := d.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("protocol %q, want h2", p)
	}

	// SETTINGS_INITIAL_WINDOW_SIZE (4) and the connection's window at
	// their largest: the server may send all it has. 200 streams of the
	// API description (53 KB each) are 10 MB, more than TCP buffers hold.
	out := append([]byte(h2raw.Preface), h2raw.InitialWindow(0x7fffffff)...)
	out = append(out, h2raw.Frame(h2raw.TypeWindowUpdate, 0, 0, binary.BigEndian.AppendUint32(nil, 0x7fffffff-65535))...)
	out = append(out, h2raw.Requests(m.Addr(), "/v1/openapi.yaml", 200)...)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}

	time.Sleep(4 * time.Second) // nothing read: the server's writes stall
	// What the kernel buffered is read, then the connection must have
	// ended; one still open would send the rest and stay idle.
	c.SetReadDeadline(time.Now().Add(15 * time.Second)) //nolint:errcheck // a net.Conn
	_, err = io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection stalled at TCP is still open after the write timeout: its streams and their slots are held for as long as the client stays connected")
	}
}
