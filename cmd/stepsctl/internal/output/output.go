// Package output prints what stepsctl commands return: an aligned table
// with human times in a terminal, plain tab-separated rows when piped, and
// CSV, JSON or NDJSON on request. Every command that prints steps goes
// through it, so all commands look and parse alike.
package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/steps-dev/steps/pkg/model"
)

// Streams are a command's standard streams.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// IsTerminal reports that Out is a terminal: tables get borders of
	// space and human times; otherwise output is for machines.
	IsTerminal bool
	// ErrIsTerminal reports that ErrOut is a terminal: progress bars are
	// drawn there, and nowhere else.
	ErrIsTerminal bool
	// Width is the width of the terminal Out is, in cells; 0 when it is
	// none or cannot be read. Charts are fitted to it.
	Width int
}

// System returns the process's standard streams.
func System() *Streams {
	return &Streams{
		In:            os.Stdin,
		Out:           os.Stdout,
		ErrOut:        os.Stderr,
		IsTerminal:    term.IsTerminal(int(os.Stdout.Fd())),
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		Width:         terminalWidth(os.Stdout),
	}
}

// terminalWidth is the width of the terminal f is, or 0.
func terminalWidth(f *os.File) int {
	if w, _, err := term.GetSize(int(f.Fd())); err == nil {
		return w
	}
	return 0
}

// Format is an output format.
type Format string

// The output formats.
const (
	Table  Format = "table"  // aligned columns in a terminal; tab-separated rows when piped
	CSV    Format = "csv"    // as the server's export: header row, spreadsheet times, formulas neutralised
	JSON   Format = "json"   // a JSON array of steps (one object for a single step)
	NDJSON Format = "ndjson" // one JSON object per line
)

// Formats lists the output formats, for help and completion.
var Formats = []string{string(Table), string(CSV), string(JSON), string(NDJSON)}

// ParseFormat checks an -o value.
func ParseFormat(s string) (Format, error) {
	return ParseFormatOf(s, Formats...)
}

// ParseFormatOf checks an -o value of a command that prints only some of
// the formats.
func ParseFormatOf(s string, formats ...string) (Format, error) {
	for _, f := range formats {
		if s == f {
			return Format(s), nil
		}
	}
	return "", fmt.Errorf("invalid output format %q: use one of %s", s, strings.Join(formats, ", "))
}

// AddFormatFlag adds -o/--output to cmd, storing its value in p.
func AddFormatFlag(cmd *cobra.Command, p *string) {
	AddFormatFlagOf(cmd, p, Formats...)
}

// AddFormatFlagOf adds -o/--output for a command that prints only some of
// the formats; the first is the default.
func AddFormatFlagOf(cmd *cobra.Command, p *string, formats ...string) {
	cmd.Flags().StringVarP(p, "output", "o", formats[0], "output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
}

// Options say how steps are printed.
type Options struct {
	Format   Format
	Terminal bool           // Out is a terminal
	Now      time.Time      // for ages ("5m ago") in a terminal
	Location *time.Location // for times in a terminal; time.Local if nil
	// Color allows ANSI colours in a terminal (not with NO_COLOR or
	// TERM=dumb; see UseColor).
	Color bool
	// Width is the terminal's width in cells (Streams.Width); 0: no limit.
	Width int
}

// UseColor reports whether output to a terminal may be coloured, given the
// environment: not when NO_COLOR is set (https://no-color.org) or TERM is
// dumb.
func UseColor(terminal bool, getenv func(string) string) bool {
	return terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// tableChunk is how many rows a terminal table holds before it prints them:
// a very long list comes out in blocks of aligned rows, and memory stays
// bounded.
const tableChunk = 1000

// listLayout says how one kind of record is printed in each format.
type listLayout[T any] struct {
	csvHeader   []string
	csvRow      func(T) []string
	json        func(T) ([]byte, error)
	plainRow    func(T) []string // piped table: tab-separated, no header
	tableHeader []string
	tableRow    func(T) []string // terminal table
	// tableOptional are the columns of the terminal table that a block of
	// rows leaves out when none of its rows has a value there: a column
	// most histories never fill, such as the revision deployed, would
	// otherwise widen every table with nothing. Where a block keeps one,
	// a row without a value shows "-".
	tableOptional []int
}

// ListWriter prints records of one kind one at a time, as they arrive.
type ListWriter[T any] struct {
	w      io.Writer
	o      Options
	layout listLayout[T]
	n      int
	csv    *csv.Writer
	rows   [][]string // buffered terminal table rows
	closed bool
}

func defaults(o Options) Options {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// Count returns how many records were written.
func (lw *ListWriter[T]) Count() int { return lw.n }

// Write prints one record.
func (lw *ListWriter[T]) Write(v T) error {
	lw.n++
	switch lw.o.Format {
	case CSV:
		if err := lw.csvStart(); err != nil {
			return err
		}
		if err := lw.csv.Write(lw.layout.csvRow(v)); err != nil {
			return err
		}
		if lw.n%100 == 0 {
			lw.csv.Flush()
		}
		return lw.csv.Error()
	case JSON:
		b, err := lw.layout.json(v)
		if err != nil {
			return err
		}
		sep := ",\n"
		if lw.n == 1 {
			sep = "[\n"
		}
		_, err = io.WriteString(lw.w, sep+string(b))
		return err
	case NDJSON:
		b, err := lw.layout.json(v)
		if err != nil {
			return err
		}
		_, err = lw.w.Write(append(b, '\n'))
		return err
	default:
		if !lw.o.Terminal {
			_, err := io.WriteString(lw.w, strings.Join(lw.layout.plainRow(v), "\t")+"\n")
			return err
		}
		lw.rows = append(lw.rows, lw.layout.tableRow(v))
		if len(lw.rows) == tableChunk {
			return lw.flushTable()
		}
		return nil
	}
}

func (lw *ListWriter[T]) csvStart() error {
	if lw.csv != nil {
		return nil
	}
	lw.csv = csv.NewWriter(lw.w)
	return lw.csv.Write(lw.layout.csvHeader)
}

// Close finishes the output. An empty list prints the CSV header, an empty
// JSON array, or nothing.
func (lw *ListWriter[T]) Close() error {
	if lw.closed {
		return nil
	}
	lw.closed = true
	switch lw.o.Format {
	case CSV:
		if err := lw.csvStart(); err != nil {
			return err
		}
		lw.csv.Flush()
		return lw.csv.Error()
	case JSON:
		end := "\n]\n"
		if lw.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(lw.w, end)
		return err
	case NDJSON:
		return nil
	default:
		return lw.flushTable()
	}
}

// Abort prints what is buffered but does not finish the output, after a
// failure part-way through a list: a JSON array stays unclosed, so that a
// program reading it cannot take a partial list for a whole one.
func (lw *ListWriter[T]) Abort() error {
	if lw.closed {
		return nil
	}
	lw.closed = true
	switch lw.o.Format {
	case CSV:
		if lw.csv != nil {
			lw.csv.Flush()
			return lw.csv.Error()
		}
	case Table:
		return lw.flushTable()
	}
	return nil
}

// flushTable prints the buffered terminal rows as one aligned table.
func (lw *ListWriter[T]) flushTable() error {
	if len(lw.rows) == 0 {
		return nil
	}
	header, rows := dropEmptyColumns(lw.layout.tableHeader, lw.rows, lw.layout.tableOptional)
	var buf bytes.Buffer
	if err := renderTable(&buf, header, rows); err != nil {
		return err
	}
	lw.rows = lw.rows[:0]
	_, err := lw.w.Write(buf.Bytes())
	return err
}

// dropEmptyColumns leaves out of header and rows the optional columns that
// no row fills, and puts "-" in the empty cells of those it keeps.
func dropEmptyColumns(header []string, rows [][]string, optional []int) ([]string, [][]string) {
	drop := map[int]bool{}
	for _, col := range optional {
		filled := false
		for _, row := range rows {
			if row[col] != "" {
				filled = true
				break
			}
		}
		if !filled {
			drop[col] = true
			continue
		}
		for _, row := range rows {
			if row[col] == "" {
				row[col] = "-"
			}
		}
	}
	if len(drop) == 0 {
		return header, rows
	}
	keep := func(cells []string) []string {
		out := make([]string, 0, len(cells)-len(drop))
		for i, c := range cells {
			if !drop[i] {
				out = append(out, c)
			}
		}
		return out
	}
	kept := make([][]string, len(rows))
	for i, row := range rows {
		kept[i] = keep(row)
	}
	return keep(header), kept
}

// StepWriter prints steps one at a time, as they arrive, in one format.
// Close finishes the output (the closing bracket of a JSON array, the last
// rows of a table).
type StepWriter struct {
	*ListWriter[model.Step]
}

// NewStepWriter returns a StepWriter printing to w.
func NewStepWriter(w io.Writer, o Options) *StepWriter {
	o = defaults(o)
	return &StepWriter{&ListWriter[model.Step]{w: w, o: o, layout: listLayout[model.Step]{
		csvHeader:     model.CSVHeader,
		csvRow:        model.StepCSVRow,
		json:          stepJSON,
		plainRow:      plainRow,
		tableHeader:   tableHeader,
		tableRow:      func(s model.Step) []string { return stepTableRow(o, s) },
		tableOptional: []int{stepRevisionColumn},
	}}}
}

// WriteStep prints a single step, as record does: a JSON object rather
// than an array, and otherwise as a list of one.
func WriteStep(w io.Writer, o Options, s model.Step) error {
	if o.Format == JSON {
		b, err := json.MarshalIndent(utcStep(s), "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	sw := NewStepWriter(w, o)
	if err := sw.Write(s); err != nil {
		return err
	}
	return sw.Close()
}

// tableHeader is a step's in a table. REVISION, the commit deployed,
// follows VERSION, and is left out of a table none of whose steps has one
// (tableOptional).
var tableHeader = []string{"ID", "TIME", "AGE", "COMPONENT", "VERSION", "REVISION", "ENV", "STATUS", "OWNER"}

// stepRevisionColumn is REVISION's place in the step table.
const stepRevisionColumn = 5

func stepTableRow(o Options, s model.Step) []string {
	return []string{
		strconv.FormatInt(s.ID, 10),
		s.Time.In(o.Location).Format(model.TerminalTime),
		Age(o.Now, s.Time),
		s.Component,
		s.Version,
		model.ShortRevision(s.Revision),
		s.Environment,
		s.Status,
		s.Owner,
	}
}

// renderTable renders rows under header as columns separated by two
// spaces, without borders, in the style of kubectl and gh.
func renderTable(w *bytes.Buffer, header []string, rows [][]string) error {
	pad := tw.CellPadding{Global: tw.Padding{Left: "", Right: "  ", Overwrite: true}}
	left := tw.CellAlignment{Global: tw.AlignLeft}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off, ShowTop: tw.Off, ShowBottom: tw.Off, ShowFooterLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{Padding: pad, Alignment: left, Formatting: tw.CellFormatting{AutoFormat: tw.Off}},
			Row:    tw.CellConfig{Padding: pad, Alignment: left, Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone}},
		}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The last column is padded too; trailing spaces only get in the way.
	out := w.Bytes()
	var trimmed bytes.Buffer
	for line := range bytes.Lines(out) {
		trimmed.Write(bytes.TrimRight(line, " \n"))
		trimmed.WriteByte('\n')
	}
	w.Reset()
	w.Write(trimmed.Bytes())
	return nil
}

// plainRow is a step as a tab-separated row for pipes: the table's columns
// without the age, times in RFC 3339 UTC.
func plainRow(s model.Step) []string {
	return []string{
		strconv.FormatInt(s.ID, 10),
		s.Time.UTC().Format(time.RFC3339Nano),
		s.Component,
		s.Version,
		s.Environment,
		s.Status,
		s.Owner,
	}
}

func utcStep(s model.Step) model.Step {
	s.Time = s.Time.UTC()
	s.ReceivedAt = s.ReceivedAt.UTC()
	return s
}

func stepJSON(s model.Step) ([]byte, error) {
	return json.Marshal(utcStep(s))
}

// Age says how long ago t was, the way a person would: "just now", "45s
// ago", "12m ago", "3h ago", "5d ago", "4mo ago", "2y ago"; "in 5m" for a
// time after now.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + span(-d)
	}
	if d < time.Second {
		return "just now"
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < day:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d < 60*day:
		return fmt.Sprintf("%dd", int(d/day))
	case d < 730*day:
		return fmt.Sprintf("%dmo", int(d/(30*day)))
	default:
		return fmt.Sprintf("%dy", int(d/(365*day)))
	}
}
