package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
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

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stepsd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
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
