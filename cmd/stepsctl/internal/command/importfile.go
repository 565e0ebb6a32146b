package command

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/steps-dev/steps/pkg/model"
)

// Formats of an import file.
const (
	importAuto     = "auto"
	importCSV      = "csv"      // our CSV export
	importNDJSON   = "ndjson"   // our NDJSON export
	importOriginal = "original" // the original service's CSV: component,version,owner,status,ts
)

var importFormats = []string{importAuto, importCSV, importNDJSON, importOriginal}

// formatName says what a format is, for messages.
func formatName(format string) string {
	switch format {
	case importCSV:
		return "CSV export"
	case importNDJSON:
		return "NDJSON export"
	case importOriginal:
		return "original service's CSV"
	}
	return format
}

// maxFutureSkew mirrors the server's default limit on explicit times ahead
// of its clock, so that a row it would refuse is caught before anything is
// sent.
const maxFutureSkew = 5 * time.Minute

// importRow is one step of an import file, or why its line is not one.
type importRow struct {
	line int // of the file, from 1
	in   model.StepInput
	id   int64 // the id an export gave the step, 0 without one
	err  *lineError
}

// reversedTie says why row cannot follow prev (model.ExportedOutOfOrder):
// nil for any pair but two steps of one deployment at one instant that the
// file lists newest first.
func reversedTie(prev, row importRow) *lineError {
	if prev.err != nil || row.err != nil {
		return nil
	}
	if err := model.ExportedOutOfOrder(prev.in, prev.id, row.in, row.id, "line"); err != nil {
		return &lineError{Line: row.line, Field: "id", Message: model.ErrorMessage(err)}
	}
	return nil
}

// lineError is what is wrong with one line of an import file.
type lineError struct {
	Line    int
	Field   string // the column or field, when one is to blame
	Message string
}

func (e *lineError) Error() string { return e.String("line") }

// String says what is wrong as FILE:LINE: field: message.
func (e *lineError) String(file string) string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s: %s", file, e.Line, e.Field, e.Message)
}

// rowReader reads the rows of an import file. next returns io.EOF after the
// last row, and another error when the rest of the file cannot be read.
type rowReader interface {
	next() (importRow, error)
}

// detectFormat tells the format of an import file from its first line: a
// JSON object is NDJSON; a CSV header of exactly the original service's
// columns is its export; any other CSV header is ours.
func detectFormat(br *bufio.Reader) (string, error) {
	head, _ := br.Peek(64 << 10)
	head = bytes.TrimPrefix(head, []byte("\uFEFF"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return importCSV, nil // empty: any reader finds no rows
	case trimmed[0] == '{':
		if firstKey(trimmed) == "steps" {
			// A step has no "steps" field: this is a saved page of the
			// JSON list, which people reach for before NDJSON.
			return "", errors.New(`the file is a JSON list ({"steps": […]}, as GET /v1/steps?format=json answers); import takes NDJSON, one step per line (stepsctl list -o ndjson, or jq -c '.steps[]')`)
		}
		return importNDJSON, nil
	case trimmed[0] == '[':
		return "", errors.New("the file is a JSON array; import takes NDJSON, one step per line (stepsctl list -o ndjson, or jq -c '.[]')")
	}
	first, _, _ := bytes.Cut(trimmed, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(first))
	cr.Comma = csvSeparator(first)
	header, err := cr.Read()
	if err != nil {
		return "", fmt.Errorf("the first line is neither a JSON object (NDJSON) nor a CSV header: %v", err)
	}
	if isOriginalHeader(header) {
		return importOriginal, nil
	}
	return importCSV, nil
}

// firstKey returns the first key of the JSON object that b starts with, or
// "" when b does not start with one.
func firstKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	key, _ := dec.Token()
	s, _ := key.(string)
	return s
}

// originalColumns are the original service's CSV columns.
var originalColumns = []string{"component", "version", "owner", "status", "ts"}

func isOriginalHeader(header []string) bool {
	if len(header) != len(originalColumns) {
		return false
	}
	for _, c := range header {
		if !slices.Contains(originalColumns, strings.TrimSpace(c)) {
			return false
		}
	}
	return true
}

// newRowReader returns a reader of r in format (not auto).
func newRowReader(r io.Reader, format string, now time.Time) (rowReader, error) {
	if format == importNDJSON {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		return &ndjsonRows{sc: sc, now: now}, nil
	}
	br := skipBOM(r)
	first, _ := br.Peek(64 << 10)
	first, _, _ = bytes.Cut(first, []byte("\n"))
	cr := csv.NewReader(br)
	cr.Comma = csvSeparator(first)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rows := &csvRows{cr: cr, now: now}
	return rows, rows.readHeader()
}

// utf8File refuses a file in UTF-16 or UTF-32, as a spreadsheet saves
// "Unicode Text": read as UTF-8 its header would be an unknown column
// "\xff\xfec\x00o\x00…", which names neither the charset nor the fix.
func utf8File(br *bufio.Reader) error {
	head, _ := br.Peek(4)
	if _, encoding := model.ByteOrderMark(head); encoding != "" {
		return fmt.Errorf("the file is %s (it starts with a %s byte-order mark, as a spreadsheet saves \"Unicode Text\"); import takes UTF-8: save it as \"CSV UTF-8\", or convert it with iconv -f %s -t UTF-8", encoding, encoding, encoding)
	}
	return nil
}

// skipBOM returns r without the UTF-8 byte-order mark a spreadsheet puts
// at the start of a file it saves: left in, it stands before a quoted
// header's first quote, which encoding/csv refuses as a bare quote.
func skipBOM(r io.Reader) *bufio.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	head, _ := br.Peek(3)
	if skip, _ := model.ByteOrderMark(head); skip > 0 {
		_, _ = br.Discard(skip)
	}
	return br
}

// csvSeparator returns the separator of a CSV whose header is first: a
// semicolon when the header is one column of step columns joined by
// semicolons, as a spreadsheet saves "CSV" in a locale whose decimal mark
// is a comma; a comma otherwise. first comes without a byte-order mark
// (detectFormat and skipBOM take it off).
func csvSeparator(first []byte) rune {
	if !bytes.Contains(first, []byte(";")) {
		return ','
	}
	if header, err := csv.NewReader(bytes.NewReader(first)).Read(); err == nil && len(header) > 1 {
		return ','
	}
	cr := csv.NewReader(bytes.NewReader(first))
	cr.Comma = ';'
	header, err := cr.Read()
	if err != nil || !slices.Contains(header, "component") {
		return ','
	}
	return ';'
}

// csvRows reads our CSV export or the original service's. Both have the
// export's formula guard undone, as POST /v1/steps/batch undoes it in any
// CSV: the same file stores the same steps through either, and our export
// cut down to the original's five columns (a spreadsheet's deleted
// columns) still gives back -api, not '-api.
type csvRows struct {
	cr      *csv.Reader
	now     time.Time
	header  []string
	timeCol string
}

func (c *csvRows) readHeader() error {
	header, err := c.cr.Read()
	if err == io.EOF {
		return nil // an empty file: no rows
	}
	if err != nil {
		return fmt.Errorf("line 1: the CSV header: %v", err)
	}
	header, c.timeCol, err = model.CSVImportHeader(header)
	if err != nil {
		return fmt.Errorf("line 1: %s", model.ErrorMessage(err))
	}
	if c.timeCol == "" {
		return errors.New("line 1: the CSV header has no ts column: an import keeps each step's time, so it needs one")
	}
	c.header = header
	return nil
}

func (c *csvRows) next() (importRow, error) {
	if c.header == nil {
		return importRow{}, io.EOF
	}
	record, err := c.cr.Read()
	for err == nil && blankRecord(record) {
		// A spreadsheet saves an empty row as ",,,,": no step, nothing
		// to store or to report, as an empty line is not.
		record, err = c.cr.Read()
	}
	if err == io.EOF {
		return importRow{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return importRow{}, &lineError{Line: pe.Line, Message: "CSV: " + pe.Err.Error()}
		}
		return importRow{}, err
	}
	line, _ := c.cr.FieldPos(0)
	row := importRow{line: line}
	if len(record) != len(c.header) {
		row.err = &lineError{Line: line, Message: fmt.Sprintf("the row has %d fields; the header has %d", len(record), len(c.header))}
		return row, nil
	}
	if err := model.CSVHeaderAgain(record, c.header); err != nil {
		row.err = &lineError{Line: line, Message: model.ErrorMessage(err)}
		return row, nil
	}
	var when, committed string
	for i, name := range c.header {
		v := record[i]
		switch name {
		case "id":
			row.id = model.ExportedID(v)
			continue
		case "received_at":
			continue
		case "ts", "time":
			when = v
			continue
		case "committed_at":
			committed = v
			continue
		}
		v = model.UnneutraliseCell(v)
		switch name {
		case "component":
			row.in.Component = v
		case "version":
			row.in.Version = v
		case "owner":
			row.in.Owner = v
		case "status":
			row.in.Status = v
		case "environment":
			row.in.Environment = v
		case "revision":
			row.in.Revision = v
		}
	}
	row.in.Time, row.err = importTime(line, c.timeCol, when, c.now)
	if row.err == nil {
		row.in.CommittedAt, row.err = committedTime(line, committed, c.now)
	}
	if row.err == nil {
		row.err = validateRow(line, row.in)
	}
	return row, nil
}

// blankRecord reports that every cell of record is empty or spaces.
func blankRecord(record []string) bool {
	for _, v := range record {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// ndjsonRows reads our NDJSON export: one step object per line.
type ndjsonRows struct {
	sc   *bufio.Scanner
	line int
	now  time.Time
}

// ndjsonFields are the fields of a step object; id and received_at are the
// server's and ignored.
var ndjsonFields = []string{"component", "version", "owner", "status", "environment", "time", "id", "received_at", "revision", "committed_at"}

func (n *ndjsonRows) next() (importRow, error) {
	for n.sc.Scan() {
		n.line++
		text := bytes.TrimSpace(n.sc.Bytes())
		if n.line == 1 {
			text = bytes.TrimPrefix(text, []byte("\uFEFF"))
		}
		if len(text) == 0 {
			continue
		}
		return n.parse(text), nil
	}
	if err := n.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return importRow{}, &lineError{Line: n.line + 1, Message: "the line is longer than 1 MiB"}
		}
		return importRow{}, err
	}
	return importRow{}, io.EOF
}

func (n *ndjsonRows) parse(text []byte) importRow {
	row := importRow{line: n.line}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(text, &raw); err != nil {
		row.err = &lineError{Line: n.line, Message: "not a JSON object: " + err.Error()}
		return row
	}
	if name, ok := duplicateName(text); ok {
		// encoding/json keeps the last of the two: which one the line
		// meant is anyone's guess, and the server refuses such a line.
		row.err = &lineError{Line: n.line, Field: name, Message: name + " is given twice in the JSON object; give it once"}
		return row
	}
	values := map[string]string{}
	// In a fixed order, so that a line with several faults (a deployments
	// export has eight unknown fields) reports the same one on every run.
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		if !slices.Contains(ndjsonFields, name) {
			row.err = &lineError{Line: n.line, Field: name, Message: fmt.Sprintf("unknown field %q; a step has component, version, owner, status, environment, time, revision and committed_at", name)}
			return row
		}
		if name == "id" {
			row.id = model.ExportedID(strings.Trim(string(v), `"`))
			continue
		}
		if name == "received_at" || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			row.err = &lineError{Line: n.line, Field: name, Message: name + " must be a JSON string"}
			return row
		}
		if !jsontext.Value(v).IsValid() {
			// encoding/json reads a bad byte, or a lone surrogate
			// escape, as U+FFFD: the step would be stored altered, where
			// the server refuses such a line of its own NDJSON batch.
			row.err = &lineError{Line: n.line, Field: name, Message: name + ` must be valid UTF-8, with no lone surrogate escapes such as \ud800`}
			return row
		}
		values[name] = s
	}
	row.in = model.StepInput{
		Component:   values["component"],
		Version:     values["version"],
		Owner:       values["owner"],
		Status:      values["status"],
		Environment: values["environment"],
		Revision:    values["revision"],
	}
	row.in.Time, row.err = importTime(n.line, "time", values["time"], n.now)
	if row.err == nil {
		row.in.CommittedAt, row.err = committedTime(n.line, values["committed_at"], n.now)
	}
	if row.err == nil {
		row.err = validateRow(n.line, row.in)
	}
	return row
}

// duplicateName returns the first member name that the JSON object in
// text gives twice, if any.
func duplicateName(text []byte) (string, bool) {
	err := jsontext.NewDecoder(bytes.NewReader(text)).SkipValue()
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) || !errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return "", false
	}
	name := ""
	for tok := range se.JSONPointer.Tokens() {
		name = tok
	}
	return name, true
}

// importTime parses the time of a row, which an import requires.
func importTime(line int, field, v string, now time.Time) (time.Time, *lineError) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, &lineError{Line: line, Field: field, Message: "the time is missing; an import keeps each step's time, so every row needs one"}
	}
	t, err := model.ParseCSVTime(v)
	if err != nil {
		return time.Time{}, &lineError{Line: line, Field: field, Message: err.Error()}
	}
	if t.After(now.Add(maxFutureSkew)) {
		return time.Time{}, &lineError{Line: line, Field: field, Message: fmt.Sprintf("%s is in the future", v)}
	}
	return t, nil
}

// committedTime parses the optional commit time of a row: zero when the
// cell is empty.
func committedTime(line int, v string, now time.Time) (time.Time, *lineError) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	t, err := model.ParseCSVTime(v)
	if err != nil {
		return time.Time{}, &lineError{Line: line, Field: "committed_at", Message: err.Error()}
	}
	if t.After(now.Add(maxFutureSkew)) {
		return time.Time{}, &lineError{Line: line, Field: "committed_at", Message: fmt.Sprintf("%s is in the future", v)}
	}
	return t, nil
}

// validateRow applies the rules of a step (model.StepInput.Validate).
func validateRow(line int, in model.StepInput) *lineError {
	err := in.Validate()
	if err == nil {
		return nil
	}
	le := &lineError{Line: line, Message: model.ErrorMessage(err)}
	var merr *model.Error
	if errors.As(err, &merr) {
		le.Field = merr.Field
	}
	return le
}
