package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertFiles serves a TLS certificate and key read from two files, and
// reads them again when either changes, so that a renewed certificate is
// served without a restart. cert-manager, a Kubernetes Secret mounted as a
// volume and certbot all replace the files in place (a symlink swap, a
// rename): stepsd notices at the next handshake. A new pair that does not
// load (a key that does not match its certificate, because one file was
// swapped before the other) is logged and the pair in service is kept.
type CertFiles struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu   sync.Mutex
	cert *tls.Certificate
	// seen is what the files were at the last load, served or refused: a
	// pair is tried (and a refusal logged) once per change, not once per
	// handshake.
	seen [2]os.FileInfo
	// seenErr is the error of the last stat that failed, for the same
	// reason: a file missing for a while is logged once.
	seenErr string
}

// NewCertFiles loads the pair, or says why it cannot be served: a bad pair
// at start-up stops stepsd, instead of failing every handshake.
func NewCertFiles(certFile, keyFile string, logger *slog.Logger) (*CertFiles, error) {
	c := &CertFiles{certFile: certFile, keyFile: keyFile, logger: logger}
	// Stat before the load, as GetCertificate does: files swapped in
	// between are read again at the next handshake.
	stamps, statErr := c.stat()
	cert, err := c.load()
	if err != nil {
		return nil, err // the load's error names what is wrong with which file
	}
	if statErr != nil {
		return nil, statErr
	}
	c.cert, c.seen = cert, stamps
	c.warnIfNotValid(cert, time.Now())
	return c, nil
}

// GetCertificate is tls.Config.GetCertificate: the pair in service, read
// again first if either file changed since it was last read.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamps, err := c.stat()
	if err != nil {
		// Between two steps of a swap, or a volume gone: the pair in
		// service is still good for its clients.
		if err.Error() != c.seenErr {
			c.seenErr = err.Error()
			c.logger.Warn("the TLS files cannot be read; serving the certificate loaded before", "err", err)
		}
		return c.cert, nil
	}
	c.seenErr = ""
	if sameFile(stamps[0], c.seen[0]) && sameFile(stamps[1], c.seen[1]) {
		return c.cert, nil
	}
	c.seen = stamps
	c.reload()
	return c.cert, nil
}

// Reload reads the pair again whether or not the files changed (SIGHUP),
// keeping the pair in service if the new one does not load.
func (c *CertFiles) Reload() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stamps, err := c.stat(); err == nil {
		c.seen = stamps
	}
	c.reload()
}

// reload loads the pair and serves it, or logs why not; c.mu is held.
func (c *CertFiles) reload() {
	cert, err := c.load()
	if err != nil {
		c.logger.Warn("the new TLS certificate or key cannot be used; serving the one loaded before until the files change again", "err", err)
		return
	}
	c.cert = cert
	attrs := []any{"file", c.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "not_after", cert.Leaf.NotAfter.UTC())
	}
	c.logger.Info("serving the TLS certificate read again", attrs...)
	c.warnIfNotValid(cert, time.Now())
}

func (c *CertFiles) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		// Both files named: the error of a missing key file read
		// "TLS certificate: open …key".
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w (want a PEM certificate, its chain after it, and the PEM private key that goes with it)",
			c.certFile, c.keyFile, err)
	}
	return &cert, nil
}

// stat follows symbolic links, so a Kubernetes Secret's swap of its
// ..data link shows as another file.
func (c *CertFiles) stat() ([2]os.FileInfo, error) {
	var stamps [2]os.FileInfo
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return stamps, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.certFile, c.keyFile, err)
		}
		stamps[i] = fi
	}
	return stamps, nil
}

// warnIfNotValid says when a certificate is served outside its validity:
// served all the same (a renewal may be on its way, and a liveness probe
// does not verify), but every client that verifies fails its handshake.
func (c *CertFiles) warnIfNotValid(cert *tls.Certificate, now time.Time) {
	leaf := cert.Leaf
	if leaf == nil || (!now.After(leaf.NotAfter) && !now.Before(leaf.NotBefore)) {
		return
	}
	c.logger.Warn("the TLS certificate is not valid now: clients that verify it will refuse every connection; renew it (stepsd serves the new files once they change)",
		"file", c.certFile, "not_before", leaf.NotBefore.UTC(), "not_after", leaf.NotAfter.UTC())
}

// sameFile says whether a and b are one file, unchanged: a file rewritten
// in place keeps its inode but not its modification time or size.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
