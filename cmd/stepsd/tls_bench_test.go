package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/server"
)

// BenchmarkTLSHandshake opens a new TLS connection per operation (a full
// handshake: the client keeps no session to resume) to a listener that
// serves its certificate from CertFiles, which stats both files at each
// handshake to notice a renewal (files=stat), or from a certificate loaded
// once (files=loaded), as stepsd served before 0e92ced: the difference is
// what the per-connection check costs a client that does not reuse its
// connections. get-certificate times the check alone.
//
//	go test ./cmd/stepsd -run '^$' -bench TLSHandshake -count 8
func BenchmarkTLSHandshake(b *testing.B) {
	certFile, keyFile, pool := certValid(b, b.TempDir(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	files, err := server.NewCertFiles(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	loaded, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"files=stat", &tls.Config{GetCertificate: files.GetCertificate, MinVersion: tls.VersionTLS12}},
		{"files=loaded", &tls.Config{Certificates: []tls.Certificate{loaded}, MinVersion: tls.VersionTLS12}},
	} {
		b.Run("handshake/"+bc.name, func(b *testing.B) {
			addr := serveTLSHandshakes(b, bc.cfg)
			client := &tls.Config{RootCAs: pool}
			for b.Loop() {
				conn, err := tls.Dial("tcp", addr, client)
				if err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
	// The check alone, as each handshake with files=stat pays it.
	b.Run("get-certificate", func(b *testing.B) {
		for b.Loop() {
			if _, err := files.GetCertificate(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// serveTLSHandshakes accepts TLS connections on a loopback port, completes
// each handshake and closes the connection, until the benchmark ends.
func serveTLSHandshakes(b *testing.B, cfg *tls.Config) string {
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err == nil {
					io.Copy(io.Discard, c) //nolint:errcheck // until the client closes
				}
			}(conn)
		}
	}()
	return l.Addr().String()
}
