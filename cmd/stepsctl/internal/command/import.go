package command

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/internal/cliargs"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// DefaultImportBatch is how many steps import sends per request.
const DefaultImportBatch = 1000

// maxLineErrors is how many bad lines import lists before it only counts.
const maxLineErrors = 100

// ImportOptions are the dependencies and flags of import.
type ImportOptions struct {
	Factory *Factory

	File      string // a path, or "-" for standard input
	Format    string // auto, csv, ndjson or original
	BatchSize int
	// BatchSizeSet reports that --batch-size was given.
	BatchSizeSet bool
	Quiet        bool
	// NoDedupe stores every row, even one identical to a stored step.
	NoDedupe bool
}

const importLong = `Import steps from a file, keeping their original times: a history moved over
from the original deployment-time service, or from another steps server.

FILE is one of, told apart by its content (or named with --format):

  csv        our CSV export (stepsctl list -o csv, GET /v1/steps?format=csv):
             a header naming component, version, owner, status, ts and
             optionally environment, id, received_at, revision,
             committed_at, in any order (an export from before revision
             and committed_at existed imports too)
  ndjson     our NDJSON export (stepsctl list -o ndjson): one step per line
  original   the original service's CSV: component,version,owner,status,ts
             with ts as "YYYY-MM-DD hh:mm:ss" in UTC

In either CSV the export's formula guard is undone, as POST /v1/steps/batch
undoes it: a cell that starts with ' and then =, +, -, @, a tab, a CR or
another ' loses its first ' ('-api is imported as -api). To keep such a
value as it is, import NDJSON.

"-" reads standard input. id and received_at are the server's and ignored:
the server numbers the steps anew and stamps them with the time of the
import; each step keeps its own time (ts), in UTC unless it has an offset,
its seconds optional ("2026-11-20 09:00", as a spreadsheet re-saves it).
Every row needs a time, and a date alone is not one. A CSV saved again by a
spreadsheet imports as it is (a byte-order mark, CRLF, quoted cells, empty
rows, or semicolons between cells, as some locales save it); one saved as
"Unicode Text" (UTF-16), "Text (Tab delimited)" or "CSV (Macintosh)" is
refused, saying so.

Steps of one deployment at the same instant are numbered in the order they
are stored, so the file must list them oldest first, as an export does by
default: a step with a lower id than the line before it and the same
component, version, environment and time (an export made newest first,
order=desc) is a bad line.

First the whole file is checked, row by row, with the rules of the server.
Every bad line is reported as FILE:LINE: field: message, and nothing is
sent: fix the file and run the command again. Then the steps are sent in
batches of --batch-size (1000; at most 10000), each stored whole or not at
all, with a progress bar on a terminal (none when stderr is piped, or with
-q). --timeout bounds each batch's answer, retries included, and counts
from the end of the check: reading the file or a slow pipe takes none of
it. One try of a batch may use all of it (other commands cut a try at
10 s): raise it for big batches on a slow database.

Each batch has an idempotency key made of its line range and a hash of its
steps. Run the same command again after an interruption (Ctrl-C, a lost
connection, a server that went away) and the batches already stored are
recognised and not stored twice: the summary counts them as "already
there". Re-run with the same --batch-size; stepsctl remembers the size used
for a file (in imports/ of the spool directory, --spool-dir) and keeps it.
A line the server refuses all the same is reported as FILE:LINE too, with
nothing of its batch stored: fix it and run again.

Rows are recognised one by one too: a row identical to a step the server
holds (same component, version, environment, owner, status, revision,
committed_at and time, to the microsecond) is skipped and counted as "already there", so importing
another export that overlaps what is stored (last month's, then this
quarter's) does not store it twice. Two steps identical to the microsecond
are one step to this rule: a file that holds the same row twice stores it
twice only within one batch. --no-dedupe stores every row as it is, under
batch keys of its own: run after an import without it, it stores the file
again whole.`

const importExample = `  # History from the original service
  curl -s 'http://old-tracker:8080/v1/steps?format=csv' > history.csv
  stepsctl import history.csv

  # From another steps server, through a pipe
  stepsctl --server http://old:8080 list -o ndjson | stepsctl import -

  # Interrupted? Run it again: nothing is stored twice
  stepsctl import history.csv

  # A newer export that overlaps the first: only the new steps are stored
  stepsctl import history-2.csv

  # In a script: no progress bar, only errors and warnings
  stepsctl import -q --batch-size 5000 history.csv`

// importArgs takes the one file to import, and says so in words when it
// is missing or when several are given (cobra's "accepts 1 arg(s),
// received 0" names neither the file nor what to do).
func importArgs(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return usageErrorf("import needs the file to import: stepsctl import FILE (a CSV or NDJSON export; - reads standard input)")
	}
	return usageErrorf("import takes one file, got %d (%s): import them one after the other", len(args), cliargs.Quoted(args))
}

// NewCmdImport returns the import command. runF replaces importRun in
// tests of flag parsing.
func NewCmdImport(f *Factory, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "import FILE|- [--batch-size N] [--format auto|csv|ndjson|original] [-q]",
		Short:   "Import steps from a CSV or NDJSON export, keeping their times",
		Long:    importLong,
		Example: importExample,
		Args:    importArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			opts.BatchSizeSet = cmd.Flags().Changed("batch-size")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.BatchSize, "batch-size", DefaultImportBatch, fmt.Sprintf("steps per request, 1 to %d", model.MaxLimit))
	fl.StringVar(&opts.Format, "format", importAuto, "file format: "+strings.Join(importFormats, "|"))
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress bar and no summary; only errors and warnings")
	fl.BoolVar(&opts.NoDedupe, "no-dedupe", false, "store every row, even one identical to a step the server holds (same content and time)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(importFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func importRun(ctx context.Context, opts *ImportOptions) error {
	f := opts.Factory
	if opts.BatchSize < 1 || opts.BatchSize > model.MaxLimit {
		return usageErrorf("--batch-size must be from 1 to %d", model.MaxLimit)
	}
	if !slices.Contains(importFormats, opts.Format) {
		return usageErrorf("--format must be one of %s, not %q", strings.Join(importFormats, ", "), opts.Format)
	}
	name := opts.File
	if name == "-" {
		name = "stdin"
	}
	src, cleanup, err := openImport(f, opts.File)
	if err != nil {
		return err
	}
	defer cleanup()

	// Check every row before anything is sent: a file is imported whole or
	// reported, never half-imported because of a typo on line 80000.
	now := f.Now()
	check, err := checkImport(src, opts.Format, now)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for i, le := range check.bad {
		if i == maxLineErrors {
			fmt.Fprintf(f.IO.ErrOut, "stepsctl: … and %d more bad line(s)\n", len(check.bad)-maxLineErrors)
			break
		}
		fmt.Fprintf(f.IO.ErrOut, "%s\n", le.String(name))
	}
	if len(check.bad) > 0 {
		return fmt.Errorf("%s: %d bad line(s) of %d; nothing was imported", name, len(check.bad), check.rows+len(check.bad))
	}
	if check.rows == 0 {
		if !opts.Quiet {
			fmt.Fprintf(f.IO.Out, "%s: no steps to import.\n", name)
		}
		return nil
	}
	size := importBatchSize(f, check.sum, name, opts.BatchSize, opts.BatchSizeSet)

	// --timeout is for the server: reading and checking the file (a slow
	// pipe, a file of millions of lines) took none of it, and left to
	// count, it cut every batch short before the first was sent.
	f.startClock()
	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.BatchClient()
	if err != nil {
		return err
	}

	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rows, err := newRowReader(bufio.NewReader(src), check.format, now)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var bar *progressbar.ProgressBar
	if f.IO.ErrIsTerminal && !opts.Quiet {
		bar = progressbar.NewOptions(check.rows,
			progressbar.OptionSetWriter(f.IO.ErrOut),
			progressbar.OptionSetDescription("importing "+name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}

	im := importer{f: f, c: c, name: name, bar: bar, opts: client.BatchOptions{Dedupe: !opts.NoDedupe}}
	batch := make([]model.StepInput, 0, size)
	lines := make([]int, 0, size)
	for {
		row, err := rows.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The file changed since it was checked.
			return im.stopped(fmt.Errorf("%s: %w", name, err))
		}
		if row.err != nil {
			return im.stopped(fmt.Errorf("%s (the file changed while it was imported)", row.err.String(name)))
		}
		batch = append(batch, row.in)
		lines = append(lines, row.line)
		if len(batch) == size {
			if err := im.send(ctx, batch, lines); err != nil {
				return im.stopped(err)
			}
			batch, lines = batch[:0], lines[:0]
		}
	}
	if len(batch) > 0 {
		if err := im.send(ctx, batch, lines); err != nil {
			return im.stopped(err)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if !opts.Quiet {
		fmt.Fprintf(f.IO.Out, "%s (%s): %d step(s) imported, %d already there.\n", name, formatName(check.format), im.imported, im.replayed+im.skipped)
	}
	return nil
}

// importer sends the batches of one import and counts what they did.
type importer struct {
	f        *Factory
	c        *client.Client
	name     string
	bar      *progressbar.ProgressBar
	opts     client.BatchOptions
	imported int // stored now
	replayed int // stored by an earlier run
	skipped  int // identical to stored steps
}

// send sends one batch under a key derived from its lines and steps.
func (im *importer) send(ctx context.Context, batch []model.StepInput, lines []int) error {
	res, err := im.c.SendBatchWith(ctx, importKey(lines[0], lines[len(lines)-1], batch, im.opts.Dedupe), batch, im.opts)
	if err != nil {
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && len(apiErr.Rows) > 0 {
			im.clearBar()
			for _, r := range apiErr.Rows {
				le := &lineError{Field: r.Field, Message: r.Error}
				if r.Row >= 1 && r.Row <= len(lines) {
					le.Line = lines[r.Row-1]
				}
				fmt.Fprintln(im.f.IO.ErrOut, le.String(im.name))
			}
			return &refusedError{fmt.Errorf("the server refused %d line(s) of lines %d–%d, and stored none of them", len(apiErr.Rows), lines[0], lines[len(lines)-1])}
		}
		return err
	}
	if res.Replayed {
		im.replayed += len(batch)
	} else {
		im.imported += len(batch) - len(res.Skipped)
		im.skipped += len(res.Skipped)
	}
	if im.bar != nil {
		_ = im.bar.Add(len(batch))
	}
	return nil
}

func (im *importer) clearBar() {
	if im.bar != nil {
		_ = im.bar.Exit()
		fmt.Fprintln(im.f.IO.ErrOut)
		im.bar = nil
	}
}

// refusedError is a batch the server refused for its content.
type refusedError struct{ error }

// stopped reports an import cut short, and how to finish it.
func (im *importer) stopped(err error) error {
	im.clearBar()
	todo := "run the same command again to finish it"
	var refused *refusedError
	var apiErr *client.APIError
	switch {
	case errors.As(err, &refused):
		todo = "fix the file and run the command again"
	case errors.As(err, &apiErr) && (apiErr.StatusCode == 401 || apiErr.StatusCode == 403):
		// Run again as it is, it is refused again: the token is what to fix.
		todo = "run the command again with a write token (--token or STEPSCTL_TOKEN) to finish it"
	case errors.As(err, &apiErr) && (apiErr.StatusCode == 404 || apiErr.StatusCode == 405):
		// Every stepsd since batches takes POST /v1/steps/batch: the
		// first release answered it with 405 (its GET /v1/steps/{id}).
		todo = "this stepsd takes no batches: it is older than this stepsctl (upgrade it), or --server is not stepsd's URL; then run the same command again to finish it"
	}
	return fmt.Errorf("%s; import stopped after %d step(s) imported and %d already there: %s (the batches already stored are recognised, not stored twice)",
		message(err), im.imported, im.replayed+im.skipped, todo)
}

// importKey is the idempotency key of the batch of lines first to last:
// the same lines with the same steps make the same key, in any run, so a
// batch sent again is recognised and not stored twice; different steps
// never share a key. (The hash covers the steps as the server compares
// them: model.StepInput.Fingerprint.) A run with --no-dedupe has keys of
// its own: a deduped run stored only part of a batch under its key, and the
// whole batch sent again under it would be a different batch to the server.
// Deduped keys are unchanged from the versions without dedupe, whose
// unfinished imports are still recognised.
func importKey(first, last int, batch []model.StepInput, dedupe bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "stepsctl import %d-%d\n", first, last)
	if !dedupe {
		io.WriteString(h, "no-dedupe\n") //nolint:errcheck // a hash does not fail
	}
	for _, in := range batch {
		io.WriteString(h, in.Fingerprint()+"\n") //nolint:errcheck // a hash does not fail
	}
	return fmt.Sprintf("import-%d-%d-%s", first, last, hex.EncodeToString(h.Sum(nil)[:16]))
}

// importCheck is what checking an import file found.
type importCheck struct {
	format string
	rows   int // good rows
	bad    []*lineError
	sum    string // SHA-256 of the file
}

// checkImport reads src whole: it tells its format (unless given), checks
// every row, and hashes the file.
func checkImport(src io.Reader, format string, now time.Time) (importCheck, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(src, h), 64<<10)
	var check importCheck
	if err := utf8File(br); err != nil {
		return check, err
	}
	if format == importAuto {
		detected, err := detectFormat(br)
		if err != nil {
			return check, err
		}
		format = detected
	}
	check.format = format
	rows, err := newRowReader(br, format, now)
	if err != nil {
		return check, err
	}
	var prev importRow
	for {
		row, err := rows.next()
		if err == io.EOF {
			break
		}
		var le *lineError
		if errors.As(err, &le) {
			// The rest of the file cannot be read reliably (a CSV quote
			// left open): report where, and stop there.
			check.bad = append(check.bad, le)
			return check, nil
		}
		if err != nil {
			return check, err
		}
		tie := reversedTie(prev, row)
		prev = row
		if row.err == nil {
			row.err = tie
		}
		if row.err != nil {
			check.bad = append(check.bad, row.err)
			continue
		}
		check.rows++
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return check, err
	}
	check.sum = hex.EncodeToString(h.Sum(nil))
	return check, nil
}

// openImport opens the file to import, or copies standard input to a
// temporary file: the file is read twice (checked, then sent), and memory
// does not grow with its size.
func openImport(f *Factory, path string) (*os.File, func(), error) {
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return file, func() { file.Close() }, nil
	}
	tmp, err := os.CreateTemp("", "stepsctl-import-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	if _, err := io.Copy(tmp, f.IO.In); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("read stdin: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, err
	}
	return tmp, cleanup, nil
}

// importBatchSize returns the batch size to import a file with: the one
// used the first time this file (by content) was imported, so that a
// re-run cuts the same batches and their keys match; size otherwise, and
// then it is remembered. Keys depend on the batches, so a different size
// would store everything again.
func importBatchSize(f *Factory, sum, name string, size int, explicit bool) int {
	state := f.SpoolDir()
	if state == "" {
		return size // no home to remember it in
	}
	dir := filepath.Join(state, "imports")
	path := filepath.Join(dir, sum[:32]+".json")
	type memo struct {
		File      string    `json:"file"`
		BatchSize int       `json:"batch_size"`
		At        time.Time `json:"at"`
	}
	if b, err := os.ReadFile(path); err == nil {
		var m memo
		if json.Unmarshal(b, &m) == nil && m.BatchSize >= 1 && m.BatchSize <= model.MaxLimit {
			if m.BatchSize != size {
				how := "the default batch size"
				if explicit {
					how = fmt.Sprintf("--batch-size %d", size)
				}
				fmt.Fprintf(f.IO.ErrOut, "stepsctl: %s was imported before in batches of %d: using them again instead of %s, so that the batches already stored are recognised\n",
					name, m.BatchSize, how)
			}
			return m.BatchSize
		}
	}
	b, _ := json.Marshal(memo{File: name, BatchSize: size, At: f.Now().UTC()})
	if err := os.MkdirAll(dir, 0o700); err == nil {
		_ = os.WriteFile(path, append(b, '\n'), 0o600)
	}
	return size
}
