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
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
func certValid(t testing.TB, dir string, notBefore, notAfter time.Time) (certFile, keyFile string, pool *x509.CertPool) {
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

// TestRenewedCertificateIsServedWithoutRestart lays the files out as a
// Kubernetes Secret volume does (tls.crt → ..data/tls.crt, ..data → a
// timestamped directory) and renews them as cert-manager does, by
// swapping ..data: the next handshake serves the new certificate. It was
// read at start-up only, so a renewal needed a restart and clients
// verifying against the new CA were refused until then. A key swapped
// before its certificate (a pair that does not load) keeps the pair in
// service, with a warning.
func TestRenewedCertificateIsServedWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	_, _, oldPool := certValid(t, secretVersion(t, dir, "..2026_01"), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	swapSecret(t, dir, "..2026_01")
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	var logs testdb.LogBuffer
	m := &Main{Config: Config{DB: testdb.SQLite(t), Listen: "127.0.0.1:0", TLSCert: filepath.Join(dir, "tls.crt"), TLSKey: filepath.Join(dir, "tls.key")},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	defer m.Close()
	if err := handshake(m.Addr(), oldPool); err != nil {
		t.Fatalf("the certificate of the start: %v", err)
	}

	_, _, newPool := certValid(t, secretVersion(t, dir, "..2026_02"), time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour))
	swapSecret(t, dir, "..2026_02")
	if err := handshake(m.Addr(), newPool); err != nil {
		t.Errorf("after the renewal, a client trusting the new certificate: %v; want it served without a restart", err)
	}
	if !strings.Contains(logs.String(), `"msg":"serving the TLS certificate read again"`) {
		t.Errorf("no log line saying the certificate was read again:\n%s", logs.String())
	}

	// A half-done swap: a new key beside the certificate in service.
	half := secretVersion(t, dir, "..2026_03")
	_, strayKey, _ := certValid(t, t.TempDir(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	copyFile(t, filepath.Join(dir, "..2026_02", "tls.crt"), filepath.Join(half, "tls.crt"))
	copyFile(t, strayKey, filepath.Join(half, "tls.key"))
	swapSecret(t, dir, "..2026_03")
	if err := handshake(m.Addr(), newPool); err != nil {
		t.Errorf("after a key that does not match its certificate: %v; want the pair in service kept", err)
	}
	if !strings.Contains(logs.String(), `"msg":"the new TLS certificate or key cannot be used; serving the one loaded before until the files change again"`) {
		t.Errorf("no warning about the pair that does not load:\n%s", logs.String())
	}
}

// secretVersion makes one of a Secret volume's timestamped directories.
func secretVersion(t *testing.T, dir, name string) string {
	t.Helper()
	version := filepath.Join(dir, name)
	if err := os.Mkdir(version, 0o700); err != nil {
		t.Fatal(err)
	}
	return version
}

// swapSecret points ..data at the version, atomically, as the kubelet does.
func swapSecret(t *testing.T, dir, version string) {
	t.Helper()
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// handshake opens a new TLS connection that trusts only pool.
func handshake(addr string, pool *x509.CertPool) error {
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return err
	}
	return conn.Close()
}

// TestSIGHUPReadsTLSAgainAndKeepsServing runs the real binary: SIGHUP
// reads the TLS files again and stepsd goes on serving, then stops cleanly
// on SIGTERM. SIGHUP was not caught, so Go's default killed stepsd at once
// (exit by signal, requests in flight cut), as a reload signal sent by
// habit (systemctl reload, a process manager) would.
func TestSIGHUPReadsTLSAgainAndKeepsServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildStepsd(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--listen", addr, "--db", testdb.SQLite(t), "--tls-cert", certFile, "--tls-key", keyFile)
	var logs testdb.LogBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "stepsd listening") {
		if time.Now().After(deadline) {
			t.Fatalf("stepsd did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(logs.String(), `"msg":"serving the TLS certificate read again"`) {
		select {
		case err := <-done:
			t.Fatalf("stepsd ended on SIGHUP: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line saying SIGHUP read the TLS files again:\n%s", logs.String())
		}
	}
	res, err := client.Post("https://"+addr+"/v1/steps?component=c&version=1&owner=o&status=s", "", nil)
	if err != nil {
		t.Fatalf("POST after SIGHUP: %v\n%s", err, logs.String())
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("POST after SIGHUP = %d, want 201", res.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stepsd did not exit after SIGTERM")
	}
}
