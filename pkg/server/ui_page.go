package server

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
)

// The page writer: headers, gzip, and a page streamed as it is rendered.

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q = strings.ReplaceAll(strings.TrimSpace(q), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// pageWriter writes an HTML page, compressed when the browser accepts it.
type pageWriter struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	gz  *gzip.Writer
	buf bytes.Buffer
}

// setPageHeaders sets the headers of every HTML page: the policy, and no
// caching, since the page shows live data and may need a token.
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Encoding, Cookie")
}

func (s *Server) startPage(w http.ResponseWriter, r *http.Request, status int) *pageWriter {
	setPageHeaders(w.Header())
	p := &pageWriter{s: s, w: w, r: r}
	if acceptsGzip(r) && r.Method != http.MethodHead {
		w.Header().Set("Content-Encoding", "gzip")
		p.gz, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}
	w.WriteHeader(status)
	return p
}

// execute renders one template and writes it. A template that fails is a
// bug; the page is cut there and the error logged.
func (p *pageWriter) execute(name string, v *pageView) {
	if p.r.Method == http.MethodHead {
		return
	}
	if v.Zone == nil {
		// A page without times of its own (sign-in, an error) names the
		// zone the page would show them in.
		v.Zone = p.s.location
	}
	p.buf.Reset()
	if err := ui.pages.ExecuteTemplate(&p.buf, name, v); err != nil {
		p.s.log.ErrorContext(p.r.Context(), "render page", "template", name, "err", err)
		panic(http.ErrAbortHandler)
	}
	var err error
	if p.gz != nil {
		_, err = p.gz.Write(p.buf.Bytes())
	} else {
		_, err = p.w.Write(p.buf.Bytes())
	}
	if err != nil {
		p.s.log.DebugContext(p.r.Context(), "write page", "err", err)
	}
}

func (p *pageWriter) flush() {
	if p.gz != nil {
		p.gz.Flush() //nolint:errcheck // a client gone shows at the next write
	}
	http.NewResponseController(p.w).Flush() //nolint:errcheck // unsupported by test recorders only
}

func (p *pageWriter) close() {
	if p.gz != nil {
		p.gz.Close() //nolint:errcheck // nothing to do if the client has gone
	}
}

// renderPage writes a whole page at once.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, v *pageView) {
	out := s.startPage(w, r, status)
	defer out.close()
	out.execute("top", v)
	out.execute("bottom", v)
}
