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
}

// System returns the process's standard streams.
func System() *Streams {
	return &Streams{
		In:         os.Stdin,
		Out:        os.Stdout,
		ErrOut:     os.Stderr,
		IsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
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
	for _, f := range Formats {
		if s == f {
			return Format(s), nil
		}
	}
	return "", fmt.Errorf("invalid output format %q: use one of %s", s, strings.Join(Formats, ", "))
}

// AddFormatFlag adds -o/--output to cmd, storing its value in p.
func AddFormatFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", string(Table), "output format: "+strings.Join(Formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return Formats, cobra.ShellCompDirectiveNoFileComp
	})
}

// Options say how steps are printed.
type Options struct {
	Format   Format
	Terminal bool           // Out is a terminal
	Now      time.Time      // for ages ("5m ago") in a terminal
	Location *time.Location // for times in a terminal; time.Local if nil
}

// tableChunk is how many rows a terminal table holds before it prints them:
// a very long list comes out in blocks of aligned rows, and memory stays
// bounded.
const tableChunk = 1000

// StepWriter prints steps one at a time, as they arrive, in one format.
// Close finishes the output (the closing bracket of a JSON array, the last
// rows of a table).
type StepWriter struct {
	w      io.Writer
	o      Options
	n      int
	csv    *csv.Writer
	rows   [][]string // buffered terminal table rows
	closed bool
}

// NewStepWriter returns a StepWriter printing to w.
func NewStepWriter(w io.Writer, o Options) *StepWriter {
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return &StepWriter{w: w, o: o}
}

// Count returns how many steps were written.
func (sw *StepWriter) Count() int { return sw.n }

// Write prints one step.
func (sw *StepWriter) Write(s model.Step) error {
	sw.n++
	switch sw.o.Format {
	case CSV:
		if sw.csv == nil {
			sw.csv = csv.NewWriter(sw.w)
			if err := sw.csv.Write(model.CSVHeader); err != nil {
				return err
			}
		}
		if err := sw.csv.Write(csvRow(s)); err != nil {
			return err
		}
		if sw.n%100 == 0 {
			sw.csv.Flush()
		}
		return sw.csv.Error()
	case JSON:
		b, err := stepJSON(s)
		if err != nil {
			return err
		}
		sep := ",\n"
		if sw.n == 1 {
			sep = "[\n"
		}
		_, err = io.WriteString(sw.w, sep+string(b))
		return err
	case NDJSON:
		b, err := stepJSON(s)
		if err != nil {
			return err
		}
		_, err = sw.w.Write(append(b, '\n'))
		return err
	default:
		if !sw.o.Terminal {
			_, err := io.WriteString(sw.w, strings.Join(plainRow(s), "\t")+"\n")
			return err
		}
		sw.rows = append(sw.rows, sw.tableRow(s))
		if len(sw.rows) == tableChunk {
			return sw.flushTable()
		}
		return nil
	}
}

// Close finishes the output. An empty list prints the CSV header, an empty
// JSON array, or nothing.
func (sw *StepWriter) Close() error {
	if sw.closed {
		return nil
	}
	sw.closed = true
	switch sw.o.Format {
	case CSV:
		if sw.csv == nil {
			sw.csv = csv.NewWriter(sw.w)
			if err := sw.csv.Write(model.CSVHeader); err != nil {
				return err
			}
		}
		sw.csv.Flush()
		return sw.csv.Error()
	case JSON:
		end := "\n]\n"
		if sw.n == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(sw.w, end)
		return err
	case NDJSON:
		return nil
	default:
		return sw.flushTable()
	}
}

// Abort prints what is buffered but does not finish the output, after a
// failure part-way through a list: a JSON array stays unclosed, so that a
// program reading it cannot take a partial list for a whole one.
func (sw *StepWriter) Abort() error {
	if sw.closed {
		return nil
	}
	sw.closed = true
	switch sw.o.Format {
	case CSV:
		if sw.csv != nil {
			sw.csv.Flush()
			return sw.csv.Error()
		}
	case Table:
		return sw.flushTable()
	}
	return nil
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

var tableHeader = []string{"ID", "TIME", "AGE", "COMPONENT", "VERSION", "ENV", "STATUS", "OWNER"}

func (sw *StepWriter) tableRow(s model.Step) []string {
	return []string{
		strconv.FormatInt(s.ID, 10),
		s.Time.In(sw.o.Location).Format("2006-01-02 15:04:05"),
		Age(sw.o.Now, s.Time),
		s.Component,
		s.Version,
		s.Environment,
		s.Status,
		s.Owner,
	}
}

// flushTable prints the buffered terminal rows as one aligned table.
func (sw *StepWriter) flushTable() error {
	if len(sw.rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := renderTable(&buf, tableHeader, sw.rows); err != nil {
		return err
	}
	sw.rows = sw.rows[:0]
	_, err := sw.w.Write(buf.Bytes())
	return err
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

// csvRow is a step as a row of the server's CSV export (model.CSVHeader),
// so that a CSV from stepsctl and one from the API are the same file.
func csvRow(s model.Step) []string {
	return []string{
		model.NeutraliseCell(s.Component),
		model.NeutraliseCell(s.Version),
		model.NeutraliseCell(s.Owner),
		model.NeutraliseCell(s.Status),
		model.FormatSpreadsheetTime(s.Time),
		model.NeutraliseCell(s.Environment),
		strconv.FormatInt(s.ID, 10),
		model.FormatSpreadsheetTime(s.ReceivedAt),
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
