package server

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// The page's embedded assets (stylesheet, icon): served under hashed URLs,
// gzipped once at start-up, cached by browsers for good.

// uiAsset is one embedded file, served under a URL that carries a hash of
// its content, so browsers may cache it for good.
type uiAsset struct {
	url         string
	contentType string
	body        []byte
	gzipped     []byte
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b) //nolint:errcheck // a bytes.Buffer does not fail
	zw.Close()
	return buf.Bytes()
}

// handleUIAsset serves GET /ui/assets/{name}: the stylesheet and icon,
// cacheable for a year since their URL changes with their content.
func (s *Server) handleUIAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := ui.assets[r.PathValue("name")]
	if !ok {
		s.handleUINotFound(w, r)
		return
	}
	s.serveAsset(w, r, a, "public, max-age=31536000, immutable")
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, a *uiAsset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("Vary", "Accept-Encoding")
	body := a.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // nothing to do if the client has gone
	}
}

// handleFavicon serves GET /favicon.ico: the page's icon (an SVG, which
// browsers take under any name). Its URL cannot change with its content, so
// it is cached for a day only.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	a := ui.assets[strings.TrimPrefix(ui.urls["icon.svg"], "/ui/assets/")]
	s.serveAsset(w, r, a, "public, max-age=86400")
}
