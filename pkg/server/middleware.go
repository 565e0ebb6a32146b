package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// statusRecorder remembers what a handler answered, for the request log,
// and gives the answer its own writeTimeout to be written.
type statusRecorder struct {
	http.ResponseWriter
	status       int
	bytes        int64
	writeTimeout time.Duration
}

// answering starts the answer's time to be written. Counted from the
// handler's start, that time was spent by a body arriving slowly (within
// the 60 s read timeout) or a write queued on the database (a dozen large
// batches on SQLite took minutes each): the step was committed and logged
// 201 while its client got no answer, and a retry without an
// Idempotency-Key stored it twice. A client that stops reading is still
// cut off writeTimeout after its answer began.
func (rec *statusRecorder) answering(status int) {
	if rec.status == 0 {
		rec.status = status
		setWriteDeadline(rec.ResponseWriter, time.Now().Add(rec.writeTimeout))
	}
}

func (rec *statusRecorder) WriteHeader(status int) {
	rec.answering(status)
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	rec.answering(http.StatusOK)
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rec *statusRecorder) Unwrap() http.ResponseWriter {
	return rec.ResponseWriter
}

// logRequests writes one JSON line per request. It logs the path, never the
// query string or headers, which may carry tokens. The method and path are
// cut as errors cut what they quote (model.Shorten): any client, before
// auth and rate limit, chooses them, and a 60 KiB path made a 60 KiB line,
// so one client could write 30 MB of log a second within its rate.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, writeTimeout: s.writeTimeout}
		// Every response must be written within writeTimeout of its
		// start (rec.answering); streamed lists extend it write by write.
		// Until then, writes such as 100 Continue have it from now.
		setWriteDeadline(w, start.Add(s.writeTimeout))
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			took := time.Since(start)
			s.metrics.observe(r.Pattern, r.Method, status, took)
			if !s.log.Enabled(r.Context(), slog.LevelInfo) {
				return // at --log-level warn, no attributes built for nothing
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", model.Shorten(r.Method)),
				slog.String("path", model.Shorten(r.URL.Path)),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(took.Microseconds())/1000),
				slog.String("remote", r.RemoteAddr),
			)
		}()
		next.ServeHTTP(rec, r)
	})
}

// noSniff has every answer say X-Content-Type-Options: nosniff, not only
// the page's: a browser then takes a list, an error quoting what a client
// sent, or /metrics as the type it is sent as, and never runs one as a
// script (<script src> of a list on an open stepsd) or shows it as a page.
func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// setWriteDeadline sets the connection's write deadline. net/http's own
// writer has the method; asking it directly spares the allocation of an
// http.ResponseController, which remains the way through wrappers.
func setWriteDeadline(w http.ResponseWriter, deadline time.Time) {
	if d, ok := w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		d.SetWriteDeadline(deadline) //nolint:errcheck // as below
		return
	}
	http.NewResponseController(w).SetWriteDeadline(deadline) //nolint:errcheck // unsupported by test recorders only
}

// recoverPanics turns a panic into a logged 500, so that one bad request
// never takes the server down. http.ErrAbortHandler passes through: it is
// how a handler cuts a response it can no longer finish honestly.
//
// A memory fault is made a panic too (debug.SetPanicOnFault): the pure-Go
// SQLite maps its WAL index into memory, and a database file made
// immutable under it faults on access (SIGBUS). The store refuses work on
// such a file when it can see the flag first; this keeps a fault that
// slips past it from killing the process.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "method", model.Shorten(r.Method), "path", model.Shorten(r.URL.Path), "panic", v)
			s.writeError(w, r, model.Errorf(model.EINTERNAL, "internal error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitQuery rejects an overlong query string, and one with a pair that
// does not parse, before anything reads it. url.Values silently drops
// such pairs (a bad %-escape, a ';'): a step would then be stored without
// the dropped field, or a list would ignore the dropped filter, and a 400
// is better than either.
func (s *Server) limitQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > s.maxQueryBytes {
			if isPagePath(r.URL.Path) {
				// A browser shows the page's HTML; the API's JSON, with
				// its advice to send a step in a body, would be a wall
				// of text about something the page never does.
				s.renderQueryError(w, r, fmt.Sprintf("The address's filters are %s bytes long; stepsd reads at most %s. "+
					"A component or version is at most 128 characters, an environment 64: shorten the values in the form.",
					formatCount(len(r.URL.RawQuery)), formatCount(s.maxQueryBytes)))
				return
			}
			s.writeError(w, r, model.Invalid("query", "the query string is %d bytes long; the limit is %d (send a step's fields in a JSON body instead)", len(r.URL.RawQuery), s.maxQueryBytes))
			return
		}
		if err := checkQuery(r.URL.RawQuery); err != nil {
			if isPagePath(r.URL.Path) {
				s.renderQueryError(w, r, model.ErrorMessage(err))
				return
			}
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// renderQueryError answers a page's address that cannot be read as the
// page's own 400, with the form empty: none of its values can be trusted.
func (s *Server) renderQueryError(w http.ResponseWriter, r *http.Request, msg string) {
	s.renderPageError(w, r, http.StatusBadRequest, "Bad address", msg)
}
