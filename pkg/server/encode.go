package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Formats of list responses.
const (
	formatCSV    = "csv"
	formatJSON   = "json"
	formatNDJSON = "ndjson"
)

// streamWriter buffers a response body and remembers whether any of it has
// reached the client yet (after which the status can no longer change) and
// the first write error (the client went away).
type streamWriter struct {
	*bufio.Writer
	started bool
	err     error
}

type startWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	sw *streamWriter
}

// writeTimeout bounds each write of a response: an export may stream for
// minutes, but a client that stops reading is cut off.
const writeTimeout = 60 * time.Second

// WriteTimeout is how long a client may take to read each part of an
// answer before it is cut off. A server serving HTTP/2 gives its
// connections the same time to take any byte (http.HTTP2Config's
// WriteByteTimeout): the handler's own deadline frees the handler only
// once the stream's reset is written, which a connection whose client has
// stopped reading at the TCP level never writes.
const WriteTimeout = writeTimeout

func (s startWriter) Write(b []byte) (int, error) {
	s.sw.started = true
	s.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) //nolint:errcheck // unsupported by test recorders only
	n, err := s.w.Write(b)
	if err != nil && s.sw.err == nil {
		s.sw.err = err
	}
	return n, err
}

func newStreamWriter(w http.ResponseWriter) *streamWriter {
	sw := &streamWriter{}
	sw.Writer = bufio.NewWriterSize(startWriter{w: w, rc: http.NewResponseController(w), sw: sw}, 32<<10)
	return sw
}

// listEncoder writes a list of T in one format. Write errors are kept by
// the streamWriter, so the methods return none.
type listEncoder[T any] interface {
	begin(h http.Header, w *streamWriter)
	item(w *streamWriter, v T)
	end(w *streamWriter, next string)
}

func newStepEncoder(format string) (listEncoder[model.Step], error) {
	switch format {
	case "", formatCSV:
		return &csvEncoder{}, nil
	case formatJSON:
		return &jsonListEncoder[model.Step]{field: "steps", appendItem: appendStep}, nil
	case formatNDJSON:
		return &jsonListEncoder[model.Step]{lines: true, appendItem: appendStep}, nil
	}
	return nil, model.Invalid("format", "format must be csv, json or ndjson, not %s", model.Quote(format))
}

type csvEncoder struct {
	buf []byte
}

func (e *csvEncoder) begin(h http.Header, w *streamWriter) {
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="steps.csv"`)
	w.WriteString(strings.Join(model.CSVHeader, ",") + "\n")
}

func (e *csvEncoder) item(w *streamWriter, st model.Step) {
	e.buf = appendCSVStep(e.buf[:0], st)
	w.Write(e.buf)
}

func (e *csvEncoder) end(w *streamWriter, next string) {}

// jsonListEncoder writes {"<field>":[…],"next":"…"} or, with lines, NDJSON.
type jsonListEncoder[T any] struct {
	field      string
	lines      bool
	appendItem func([]byte, T) []byte
	n          int
	buf        []byte
}

func (e *jsonListEncoder[T]) begin(h http.Header, w *streamWriter) {
	if e.lines {
		h.Set("Content-Type", "application/x-ndjson")
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteString(`{"` + e.field + `":[`)
}

func (e *jsonListEncoder[T]) item(w *streamWriter, v T) {
	if !e.lines && e.n > 0 {
		w.WriteByte(',')
	}
	e.n++
	e.buf = e.appendItem(e.buf[:0], v)
	if e.lines {
		e.buf = append(e.buf, '\n')
	}
	w.Write(e.buf)
}

func (e *jsonListEncoder[T]) end(w *streamWriter, next string) {
	if e.lines {
		return
	}
	w.WriteString(`],"next":`)
	e.buf = appendJSONString(e.buf[:0], next)
	w.Write(e.buf)
	w.WriteString("}\n")
}

// pager reads one page of a list: at most limit items, after the cursor
// after ("" for the request's own cursor, if any), calling emit for each;
// it returns the cursor of the next page, "" on the last.
type pager[T any] func(limit int, after string, emit func(T) error) (next string, err error)

// serveList answers a list request. With a limit, the page (at most
// MaxLimit items) is gathered first so that the next page's cursor can go
// in X-Next-Cursor, before the body. Without one, every item is streamed,
// read from the database in pages of chunk items by keyset: no database
// connection is held while the client reads, so clients that stall (up to
// writeTimeout, when they are cut off) cannot exhaust the pool, and memory
// stays one page whatever the length of the list.
//
// A client may have Config.ClientLists of them in progress at once (429
// beyond): each holds its page until the client has read it.
func serveList[T any](s *Server, w http.ResponseWriter, r *http.Request, limit, chunk int, enc listEncoder[T], list pager[T]) {
	leave, ok := s.enterList(w, r)
	if !ok {
		return
	}
	defer leave()
	if limit > 0 {
		writePage(s, w, r, limit, enc, list)
		return
	}
	list = boundReads(s, r, list)
	out := newStreamWriter(w)
	enc.begin(w.Header(), out)
	page := make([]T, 0, chunk)
	collect := func(v T) error {
		page = append(page, v)
		return nil
	}
	after := ""
	var err error
	for out.err == nil {
		page = page[:0]
		if after, err = list(chunk, after, collect); err != nil {
			break
		}
		for _, v := range page {
			if enc.item(out, v); out.err != nil {
				break
			}
		}
		if after == "" {
			break
		}
	}
	if err == nil {
		err = out.err
	}
	if err == nil {
		enc.end(out, "")
		err = out.Flush()
	}
	s.finishStream(w, r, out, err)
}

// writePage answers one page of a list (a request with limit): read and
// encoded whole first, so that its bytes are known, then sent in one write
// held under the bound on answers (Config.MaxAnswerBytes), as an
// analysis's answer is. A client that stops reading held its page, 10,000
// steps of long values, until writeTimeout: 128 of them, each client
// within its lists, held about 1.3 GB. The page waits for room in its
// reader's slot (Config.ListReaders), so that the pages read and waiting
// are as few as the readers.
func writePage[T any](s *Server, w http.ResponseWriter, r *http.Request, limit int, enc listEncoder[T], list pager[T]) {
	leaveReader, err := s.takeReader(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, next, err := encodePage(w.Header(), limit, enc, list)
	var release func()
	if err == nil {
		release, err = s.holdBytes(r, len(body))
	}
	leaveReader()
	if err != nil {
		s.writeError(w, r, err) // a 503 with its Retry-After
		return
	}
	defer release()
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	out := newStreamWriter(w)
	out.Write(body) //nolint:errcheck // kept in out.err
	s.finishStream(w, r, out, out.Flush())
}

// encodePage reads one page of at most limit items and encodes it; the
// items are garbage once it returns.
func encodePage[T any](h http.Header, limit int, enc listEncoder[T], list pager[T]) (body []byte, next string, err error) {
	page := make([]T, 0, limit)
	if next, err = list(limit, "", func(v T) error {
		page = append(page, v)
		return nil
	}); err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	buf := &streamWriter{Writer: bufio.NewWriterSize(&b, 32<<10)}
	enc.begin(h, buf)
	for _, v := range page {
		enc.item(buf, v)
	}
	enc.end(buf, next)
	buf.Flush() //nolint:errcheck // a bytes.Buffer does not fail
	return b.Bytes(), next, nil
}

// boundReads lets list read while fewer than Config.ListReaders pages are
// being read, else waits its turn: a burst of exports queues here instead
// of taking every pooled connection, so writes and /readyz keep theirs.
func boundReads[T any](s *Server, r *http.Request, list pager[T]) pager[T] {
	return func(limit int, after string, emit func(T) error) (string, error) {
		leave, err := s.takeReader(r)
		if err != nil {
			return "", err
		}
		defer leave()
		return list(limit, after, emit)
	}
}

// takeReader waits for one of the Config.ListReaders slots.
func (s *Server) takeReader(r *http.Request) (leave func(), err error) {
	select {
	case s.listReads <- struct{}{}:
		return func() { <-s.listReads }, nil
	case <-r.Context().Done():
		if err := r.Context().Err(); errors.Is(err, context.Canceled) {
			// Its client went away while the list waited its turn:
			// writeError counts that as 499, not as stepsd's 503.
			return nil, fmt.Errorf("the list waited for a reader: %w", err)
		}
		return nil, model.Errorf(model.EUNAVAILABLE, "the list was not read: %v", r.Context().Err())
	}
}

// finishStream ends a streamed response whose producer returned err.
func (s *Server) finishStream(w http.ResponseWriter, r *http.Request, out *streamWriter, err error) {
	switch {
	case err == nil:
	case out.err != nil:
		s.log.DebugContext(r.Context(), "client stopped reading", "err", out.err)
	case !out.started:
		// Nothing reached the client yet: a proper error response is possible.
		s.writeError(w, r, err)
	default:
		// Part of a 200 is out. Cut the connection so the client sees a
		// broken transfer, not a list that looks complete.
		s.log.ErrorContext(r.Context(), "response failed mid-stream", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}
