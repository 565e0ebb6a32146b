package server

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// exportOnlyFields are the fields of an export that the server assigns; an
// import of an export drops them instead of failing.
var exportOnlyFields = []string{"id", "received_at"}

// handleCreateSteps serves POST /v1/steps/batch: many steps in one
// transaction, all or none, as a JSON array, NDJSON, or CSV (our export's
// columns, or the original service's component,version,owner,status,ts).
// Explicit times are kept. Rows are decoded and validated one at a time:
// the first row past model.MaxBatchSteps ends the request with 413, the
// first longer than model.MaxBatchRowBytes with 400 as it arrives, and the
// invalid rows are reported (the first model.MaxRowErrors of them), so
// memory is bounded by one row's bound whatever the body holds.
//
// With dedupe=true (what stepsctl import sends), rows already stored are
// skipped (store.CreateStepsDeduped) and counted in skipped.
func (s *Server) handleCreateSteps(w http.ResponseWriter, r *http.Request) {
	if err := bodyHeaders(w, r, "Idempotency-Key"); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A batch's rows are stored under "KEY N", which no webhook key is;
	// its key is refused all the same, so the rule is one for every write.
	if err := clientIdempotencyKey(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := queryParams(r, []string{"dedupe"})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dedupe := false
	switch v, ok := q["dedupe"]; {
	case !ok || v == "false":
	case v == "true":
		dedupe = true
	default:
		s.writeError(w, r, model.Invalid("dedupe", "dedupe must be true or false, not %s", model.Quote(v)))
		return
	}
	if err := declaredTooLarge(r, s.maxBatchBytes); err != nil {
		s.writeError(w, r, err)
		return
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, s.maxBatchBytes)}
	b := batchRows{s: s}
	switch mt := mediaType(r); mt {
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl", "text/csv":
		rows := bufio.NewReader(body)
		if err = skipByteOrderMark(rows); err != nil {
			break
		}
		switch mt {
		case "application/json":
			err = b.parseJSON(rows)
		case "text/csv":
			err = b.parseCSV(rows)
		default:
			err = b.parseNDJSON(rows)
		}
	default:
		// Only the start is read, to tell JSON sent with a client's
		// default type; a read error is body.err's, below.
		head, _ := bufio.NewReaderSize(body, 512).Peek(512) //nolint:errcheck // see above
		if err = jsonUnderAnotherType(r, mt, head); err == nil {
			err = unsupportedBody(r, "application/json (an array), application/x-ndjson or text/csv")
		}
	}
	if body.err != nil {
		// The body broke off or ran over its limit: say that, not what
		// the decoder made of the cut.
		err = bodyError(body.err, s.maxBatchBytes)
	} else if err != nil {
		// Read the rest (within the limit, into nothing) so that the
		// client, still sending, gets the answer rather than a reset.
		io.Copy(io.Discard, body) //nolint:errcheck // the answer is already decided
	}
	if err == nil && len(b.ins) == 0 {
		err = model.Invalid("body", "the batch is empty")
	}
	if err == nil && len(b.errs.Rows) > 0 {
		err = &b.errs
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	meta := model.RecordMeta{ReceivedAt: s.now(), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if dedupe {
		s.createDeduped(w, r, b.ins, meta)
		return
	}
	steps, replayed, err := s.store.CreateSteps(r.Context(), b.ins, meta)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	} else {
		s.metrics.recorded.Add(float64(len(steps)))
		s.stored(steps...)
	}
	s.writeJSON(w, r, status, map[string]any{"count": len(steps), "steps": steps})
}

// createDeduped stores the rows of a batch not already stored. The answer
// lists every row's step, as without dedupe, and says which rows were
// skipped (numbered from 1, as rows are in errors): 201 when any row was
// stored, 200 when none was.
func (s *Server) createDeduped(w http.ResponseWriter, r *http.Request, ins []model.StepInput, meta model.RecordMeta) {
	steps, skipped, err := s.store.CreateStepsDeduped(r.Context(), ins, meta)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows := make([]int, len(skipped))
	stored := make([]model.Step, 0, len(steps)-len(skipped))
	for i, j := 0, 0; i < len(steps); i++ {
		if j < len(skipped) && skipped[j] == i {
			rows[j] = i + 1
			j++
			continue
		}
		stored = append(stored, steps[i])
	}
	status := http.StatusCreated
	if len(stored) == 0 {
		status = http.StatusOK
	} else {
		s.metrics.recorded.Add(float64(len(stored)))
		s.stored(stored...)
	}
	s.writeJSON(w, r, status, map[string]any{"count": len(steps), "steps": steps,
		"stored": len(stored), "skipped": len(skipped), "skipped_rows": rows})
}

// skipByteOrderMark reads past a UTF-8 byte-order mark at the start of a
// body, and refuses a UTF-16 or UTF-32 one (see byteOrderMark).
func skipByteOrderMark(r *bufio.Reader) error {
	head, _ := r.Peek(4) // a shorter body has no mark but UTF-8's
	skip, err := byteOrderMark(head)
	if err == nil {
		r.Discard(skip) //nolint:errcheck // peeked
	}
	return err
}

// byteOrderMark returns the length of a UTF-8 byte-order mark at the start
// of a body (RFC 8259 lets a JSON reader ignore it), and refuses a UTF-16
// or UTF-32 one with a message that names the charset (model.ByteOrderMark).
func byteOrderMark(head []byte) (int, error) {
	skip, encoding := model.ByteOrderMark(head)
	switch encoding {
	case "UTF-32":
		return 0, model.Invalid("body", "the body is UTF-32 (it starts with a UTF-32 byte-order mark); send it in UTF-8")
	case "UTF-16":
		return 0, model.Invalid("body", "the body is UTF-16 (it starts with a UTF-16 byte-order mark, as Windows writes \"Unicode\" text); send it in UTF-8")
	}
	return skip, nil
}

// bodyReader keeps the error that ended a read of the body, other than its
// end: a decoder's own message for a cut body would mislead.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// batchRows collects the validated steps of a batch and the errors of its
// invalid rows. The parse methods fail only for what spoils the whole body,
// or for a row past the limit.
type batchRows struct {
	s    *Server
	ins  []model.StepInput
	errs model.BatchError
	// prevID is the id an export gave the last row's step, 0 without
	// one or when the row is invalid (model.ExportedOutOfOrder).
	prevID int64
}

// add validates the next row, given as parameters or as the error that
// stopped it from parsing.
func (b *batchRows) add(p params, err error) error {
	if len(b.ins) == model.MaxBatchSteps {
		return model.Errorf(model.ETOOLARGE, "the batch has more than %d steps; the limit is %d per request: send it in several batches", model.MaxBatchSteps, model.MaxBatchSteps)
	}
	var in model.StepInput
	if err == nil {
		in, err = b.s.stepInput(p)
	}
	prevID := b.prevID
	b.prevID = 0
	if err == nil {
		// The next row is compared with this one, whether or not this one
		// follows the one before it, as stepsctl import compares its lines.
		b.prevID = model.ExportedID(p["id"])
		if prevID != 0 {
			err = model.ExportedOutOfOrder(b.ins[len(b.ins)-1], prevID, in, b.prevID, "row")
		}
	}
	if err != nil {
		b.errs.AddError(len(b.ins)+1, err)
	}
	b.ins = append(b.ins, in)
	return nil
}

// rowTooLong ends the batch at row, which ran past model.MaxBatchRowBytes
// (where says at what line or item). It is listed with the rows already
// found invalid, last, in place of the last of them if the list is full:
// the rows after it were not read, and it says why.
func (b *batchRows) rowTooLong(row int, where string) error {
	re := model.RowError{Row: row, Field: "body", Error: fmt.Sprintf(
		"the row, at %s, is longer than %d bytes, which no valid step is (its fields make a few kilobytes at most); the batch was read no further",
		where, model.MaxBatchRowBytes)}
	if len(b.errs.Rows) == model.MaxRowErrors {
		b.errs.Rows = b.errs.Rows[:len(b.errs.Rows)-1]
		b.errs.Omitted++
	}
	b.errs.Rows = append(b.errs.Rows, re)
	return &b.errs
}

// errRowTooLong is what rowBound and csvFieldBound return once a row has
// run past model.MaxBatchRowBytes.
var errRowTooLong = errors.New("row too long")

// rowBound passes a JSON array's bytes through to its decoder, no further
// than model.MaxBatchRowBytes past where the current row began (set by
// start). encoding/json holds an item whole, in a buffer grown as it
// arrives, before unmarshalling it: a 32 MiB item cost 130–220 MB of heap.
// Refused at the bound, one row costs about twice the bound.
type rowBound struct {
	r     io.Reader
	read  int64 // bytes passed on
	limit int64 // read never passes it
}

// start bounds the row that begins after the decoder's first at bytes.
func (rb *rowBound) start(at int64) { rb.limit = at + model.MaxBatchRowBytes }

func (rb *rowBound) Read(p []byte) (int, error) {
	room := rb.limit - rb.read
	if room <= 0 {
		return 0, errRowTooLong
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := rb.r.Read(p)
	rb.read += int64(n)
	return n, err
}

// parseJSON reads the array item by item: a huge array of tiny items costs
// one item's memory at a time, not an index of them all, and a huge item
// no more than rowBound lets through. An item's bytes are counted from the
// end of the one before, so the comma and white space between are its own.
func (b *batchRows) parseJSON(body io.Reader) error {
	notArray := func(problem string) error {
		return model.Invalid("body", "body is not a JSON array of steps: %s (for one step per line, send Content-Type: application/x-ndjson)", problem)
	}
	// Once the array has begun, the advice to send NDJSON would mislead:
	// the body is an array, broken.
	badArray := func(problem string) error {
		return model.Invalid("body", "the JSON array of steps is broken: %s", problem)
	}
	bound := &rowBound{r: body}
	tooLong := func() error {
		row := len(b.ins) + 1
		return b.rowTooLong(row, fmt.Sprintf("item %d of the JSON array", row))
	}
	dec := json.NewDecoder(bound)
	bound.start(0) // what comes before the first item is the first row's
	tok, err := dec.Token()
	if errors.Is(err, errRowTooLong) {
		return tooLong()
	}
	if err != nil {
		return notArray(jsonProblem(err))
	}
	if tok == json.Delim('{') {
		// A list's own JSON export, {"steps": […], "next": …}, is the
		// likeliest object here: the NDJSON advice would not fit it.
		if key, err := dec.Token(); err == nil {
			switch key {
			case "steps":
				return model.Invalid("body", `body is a list of steps as GET /v1/steps?format=json answers ({"steps": […], "next": …}), not a JSON array of steps: send its array (jq .steps), or the NDJSON or CSV export (format=ndjson, format=csv), which import as they are`)
			case "deployments":
				return model.Invalid("body", `body is a list of deployments (GET /v1/deployments), not of steps: import an export of steps (GET /v1/steps?format=ndjson or format=csv)`)
			}
		}
	}
	if tok != json.Delim('[') {
		return notArray("found " + tokenKind(tok))
	}
	for bound.start(dec.InputOffset()); dec.More(); bound.start(dec.InputOffset()) {
		var item json.RawMessage
		if err := dec.Decode(&item); errors.Is(err, errRowTooLong) {
			return tooLong()
		} else if err != nil {
			return badArray(jsonProblem(err))
		}
		if err := b.add(jsonStepParams(item, stepParams, exportOnlyFields...)); err != nil {
			return err
		}
	}
	// More is false at the bracket, and at an error: a row past the bound
	// is one.
	if _, err := dec.Token(); errors.Is(err, errRowTooLong) {
		return tooLong()
	} else if err != nil { // the closing bracket
		return badArray(jsonProblem(err))
	}
	// After the array only white space may come, read through unbounded:
	// a decoder's token would hold a long one whole.
	bound.limit = math.MaxInt64
	if !onlySpace(io.MultiReader(dec.Buffered(), bound)) {
		return model.Invalid("body", "body has more after the JSON array; send one array")
	}
	return nil
}

// onlySpace reads r to its end and reports that it held JSON white space
// only (a read error ends it as well: the caller's bodyReader keeps it).
func onlySpace(r io.Reader) bool {
	var buf [4 << 10]byte
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
		}
		if err != nil {
			return true
		}
	}
}

// tokenKind names what a JSON token is, for an error message.
func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// maxRowLine bounds a row of NDJSON or CSV with its line end.
const maxRowLine = model.MaxBatchRowBytes + len("\r\n")

// parseNDJSON reads the batch line by line, each line no longer than
// model.MaxBatchRowBytes (and its line end): the scanner's buffer grows
// to the bound, no further.
func (b *batchRows) parseNDJSON(body io.Reader) error {
	lines := bufio.NewScanner(body)
	lines.Buffer(make([]byte, 0, 64<<10), maxRowLine)
	n := 0
	for lines.Scan() {
		n++
		line := bytes.TrimSpace(lines.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := b.add(jsonStepParams(line, stepParams, exportOnlyFields...)); err != nil {
			return err
		}
	}
	if err := lines.Err(); errors.Is(err, bufio.ErrTooLong) {
		return b.rowTooLong(len(b.ins)+1, fmt.Sprintf("line %d of the NDJSON", n+1))
	} else if err != nil {
		return model.Invalid("body", "NDJSON: %v", err)
	}
	return nil
}

func (b *batchRows) parseCSV(body io.Reader) error {
	bound := &csvFieldBound{r: body, line: 1, fields: 1, recordLine: 1}
	cr := csv.NewReader(bound)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return model.Invalid("body", "the batch is empty")
	}
	if errors.Is(err, errRowTooLong) {
		return model.Invalid("body", "the CSV header (line %d) is longer than %d bytes; a batch's columns are at most %s",
			bound.recordLine, model.MaxBatchRowBytes, strings.Join(model.CSVImportColumns, ", "))
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	if err != nil {
		return model.Invalid("body", "CSV header: %v", err)
	}
	if header, _, err = model.CSVImportHeader(header); err != nil {
		return err
	}
	for {
		record, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errRowTooLong) {
			return b.rowTooLong(len(b.ins)+1, fmt.Sprintf("line %d of the CSV", bound.recordLine))
		}
		if errors.As(err, &me) {
			return err
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
				return model.Invalid("body", "CSV: %v", err)
			}
		}
		if err := b.add(csvRow(header, record)); err != nil {
			return err
		}
	}
	return nil
}

// maxCSVFields bounds the fields of one CSV record. A batch's header
// names at most len(model.CSVImportColumns) columns, so a record with more
// is refused whatever it holds; the bound is well above that, so that such
// records keep their own error ("the row has 12 fields; …").
const maxCSVFields = 100

// csvFieldBound passes a CSV body through to encoding/csv, and ends it
// with a 400 at a record's field past maxCSVFields, or at its byte past
// model.MaxBatchRowBytes. encoding/csv keeps a whole record, each field a
// string with its offsets, before returning it: a 26 MB header of three
// million short column names cost 300 MB, and four such batches at once
// took stepsd to 1.4 GB; one 32 MiB quoted field cost 150–190 MB. It follows
// RFC 4180's quoting as encoding/csv does, so a comma or newline inside
// quotes separates nothing.
type csvFieldBound struct {
	r          io.Reader
	state      byte // 0 at a field's start, 'u' in an unquoted field, 'q' in a quoted one, '"' after a quote in one
	fields     int  // fields of the current record so far
	bytes      int  // bytes of the current record so far
	line       int
	recordLine int // the line the current record began on
	err        error
}

func (c *csvFieldBound) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	for i, ch := range p[:n] {
		if ch == '\n' {
			c.line++
		}
		if c.bytes++; c.bytes > maxRowLine {
			c.err = errRowTooLong
			return i, c.err
		}
		switch {
		case c.state == 'q':
			if ch == '"' {
				c.state = '"'
			}
		case c.state == '"' && ch == '"':
			c.state = 'q' // an escaped quote
		case ch == ',':
			c.state = 0
			if c.fields++; c.fields > maxCSVFields {
				c.err = model.Invalid("body", "line %d of the CSV has more than %d fields; a batch's columns are at most %s",
					c.line, maxCSVFields, strings.Join(model.CSVImportColumns, ", "))
				return i, c.err
			}
		case ch == '\n':
			c.state, c.fields, c.bytes, c.recordLine = 0, 1, 0, c.line
		case c.state == 0 && ch == '"':
			c.state = 'q'
		default:
			c.state = 'u'
		}
	}
	return n, err
}

func csvRow(header, record []string) (params, error) {
	if len(record) != len(header) {
		return nil, model.Invalid("body", "the row has %d fields; the header has %d", len(record), len(header))
	}
	if err := model.CSVHeaderAgain(record, header); err != nil {
		return nil, err
	}
	p := params{}
	for i, name := range header {
		switch {
		case name == "id":
			p[name] = record[i] // the export's order (model.ExportedOutOfOrder)
		case slices.Contains(exportOnlyFields, name):
		case record[i] == "":
		case name == "ts" || name == "time":
			v, err := csvTime("time", record[i])
			if err != nil {
				return nil, err
			}
			p["time"] = v
		case name == "committed_at":
			v, err := csvTime(name, record[i])
			if err != nil {
				return nil, err
			}
			p[name] = v
		default:
			// Undo the export's formula guard, so values round-trip exactly.
			p[name] = model.UnneutraliseCell(record[i])
		}
	}
	return p, nil
}

// csvTime reads a time cell of a CSV batch by the rule stepsctl import
// checks it with (model.ParseCSVTime), so that a file stores the same steps
// through either: a date alone, as a spreadsheet saves a column it shows as
// dates, is refused rather than stored at midnight, and a time whose
// seconds a spreadsheet dropped is read at :00. A cell the step's own rule
// reads is passed on as it is, so that its messages quote it.
func csvTime(field, cell string) (string, error) {
	t, err := model.ParseCSVTime(cell)
	if err != nil {
		return "", model.Invalid(field, "%s: %v", field, err)
	}
	if _, _, err := model.ParseTime(cell); err == nil {
		return cell, nil
	}
	return t.Format(time.RFC3339Nano), nil
}
