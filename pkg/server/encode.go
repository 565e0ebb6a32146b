package server

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
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

// stepEncoder writes a list of steps in one format. Write errors are kept
// by the streamWriter, so the methods return none.
type stepEncoder interface {
	begin(h http.Header, w *streamWriter)
	step(w *streamWriter, st model.Step)
	end(w *streamWriter, next string)
}

func newStepEncoder(format string) (stepEncoder, error) {
	switch format {
	case "", formatCSV:
		return &csvEncoder{}, nil
	case formatJSON:
		return &jsonEncoder{}, nil
	case formatNDJSON:
		return &ndjsonEncoder{}, nil
	}
	return nil, model.Invalid("format", "format must be csv, json or ndjson, not %q", format)
}

type csvEncoder struct {
	cw  *csv.Writer
	row []string
}

func (e *csvEncoder) begin(h http.Header, w *streamWriter) {
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="steps.csv"`)
	e.cw = csv.NewWriter(w)
	e.row = make([]string, len(model.CSVHeader))
	e.cw.Write(model.CSVHeader) //nolint:errcheck // kept by streamWriter
}

func (e *csvEncoder) step(w *streamWriter, st model.Step) {
	e.row[0] = model.NeutraliseCell(st.Component)
	e.row[1] = model.NeutraliseCell(st.Version)
	e.row[2] = model.NeutraliseCell(st.Owner)
	e.row[3] = model.NeutraliseCell(st.Status)
	e.row[4] = model.FormatSpreadsheetTime(st.Time)
	e.row[5] = model.NeutraliseCell(st.Environment)
	e.row[6] = strconv.FormatInt(st.ID, 10)
	e.row[7] = model.FormatSpreadsheetTime(st.ReceivedAt)
	e.cw.Write(e.row) //nolint:errcheck // kept by streamWriter
}

func (e *csvEncoder) end(w *streamWriter, next string) {
	e.cw.Flush()
}

type jsonEncoder struct {
	n   int
	buf []byte
}

func (e *jsonEncoder) begin(h http.Header, w *streamWriter) {
	h.Set("Content-Type", "application/json")
	w.WriteString(`{"steps":[`)
}

func (e *jsonEncoder) step(w *streamWriter, st model.Step) {
	if e.n > 0 {
		w.WriteByte(',')
	}
	e.n++
	e.buf = appendStep(e.buf[:0], st)
	w.Write(e.buf)
}

func (e *jsonEncoder) end(w *streamWriter, next string) {
	w.WriteString(`],"next":`)
	b, _ := json.Marshal(next)
	w.Write(b)
	w.WriteString("}\n")
}

type ndjsonEncoder struct {
	buf []byte
}

func (*ndjsonEncoder) begin(h http.Header, w *streamWriter) {
	h.Set("Content-Type", "application/x-ndjson")
}

func (e *ndjsonEncoder) step(w *streamWriter, st model.Step) {
	e.buf = append(appendStep(e.buf[:0], st), '\n')
	w.Write(e.buf)
}

func (*ndjsonEncoder) end(w *streamWriter, next string) {}
