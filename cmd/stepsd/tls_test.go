package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestServesTLSDirectly starts stepsd with a certificate and key and
// records a step over HTTPS; plain HTTP to the same port is refused.
func TestServesTLSDirectly(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	m := startMain(t, Config{DB: testdb.SQLite(t), TLSCert: certFile, TLSKey: keyFile})
	defer m.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Post("https://"+m.Addr()+"/v1/steps?component=c&version=1&owner=o&status=s", "", nil)
	if err != nil {
		t.Fatalf("POST over TLS: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("POST over TLS = %d", res.StatusCode)
	}
	if res, err := http.Get("http://" + m.Addr() + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Error("plain HTTP was served on the TLS port")
	}
}

func TestTLSFilesAreCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := selfSignedCert(t, dir)
	for _, cfg := range []Config{
		{TLSCert: certFile},
		{TLSCert: certFile, TLSKey: certFile},
		{TLSCert: filepath.Join(dir, "missing.crt"), TLSKey: filepath.Join(dir, "missing.key")},
	} {
		cfg.DB, cfg.Listen = testdb.SQLite(t), "127.0.0.1:0"
		m := &Main{Config: cfg, Logger: discard()}
		if err := m.Run(t.Context()); err == nil {
			t.Errorf("started with TLS files %q and %q", cfg.TLSCert, cfg.TLSKey)
		}
		m.Close()
	}
}

// A TLS file that stepsd cannot use stops it with both files named: a
// missing key was reported as "TLS certificate: open …key". An expired
// certificate is served, with a warning: clients that verify it fail.
func TestTLSErrorsNameTheFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := selfSignedCert(t, dir)
	missing := filepath.Join(dir, "missing.key")
	m := &Main{Config: Config{DB: testdb.SQLite(t), Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: missing}, Logger: discard()}
	err := m.Run(t.Context())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "--tls-key "+missing+": open "+missing) {
		t.Errorf("a missing key file: %v; want --tls-key and its path", err)
	}

	old := t.TempDir()
	certFile, keyFile, _ := certValid(t, old, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	var logs bytes.Buffer
	m = &Main{Config: Config{DB: testdb.SQLite(t), Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("an expired certificate: %v; want served, with a warning", err)
	}
	m.Close()
	if !strings.Contains(logs.String(), `"msg":"the TLS certificate is not valid now`) || !strings.Contains(logs.String(), `"file":"`+certFile+`"`) {
		t.Errorf("an expired certificate was served without a warning: %s", logs.String())
	}
}

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	return certValid(t, dir, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// certValid writes a self-signed certificate valid from notBefore to
// notAfter, and its key, into dir.
func certValid(t *testing.T, dir string, notBefore, notAfter time.Time) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stepsd test"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
