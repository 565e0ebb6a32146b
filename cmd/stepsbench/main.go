// Command stepsbench measures steps end to end, with one command: it builds
// stepsd and stepsctl, starts stepsd as a process on loopback on the SQLite
// default and on MariaDB (a fresh database each), and measures ingest,
// export, deployments, stats and stepsctl record against the practical
// limits beside them — a minimal baseline server, the database's own
// command-line client, and curl — in the same run. See docs/benchmarks.md.
//
//	go run ./cmd/stepsbench            # full run, a few minutes
//	go run ./cmd/stepsbench --quick    # CI: small counts, one run
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks a mistake in how stepsbench was called: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// run executes stepsbench with args and returns the exit code: 0 success,
// 1 failure (including a measurement that broke: errors, wrong row counts),
// 2 usage error. Missing a performance goal is not a failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd(stdout, stderr, nil)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "stepsbench: "+strings.ReplaceAll(err.Error(), "\n", " "))
	var usage usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// Phases of a run.
const (
	phaseIngest      = "ingest"
	phaseExport      = "export"
	phaseDeployments = "deployments"
	phaseCLI         = "cli"
	// phaseHistory seeds --history-rows steps (10 million) and measures
	// deployments, stats and the page over them: long, so only on demand.
	phaseHistory = "history"
)

// allPhases run by default; knownPhases may be asked for.
var (
	allPhases   = []string{phaseIngest, phaseExport, phaseDeployments, phaseCLI}
	knownPhases = append(slices.Clone(allPhases), phaseHistory)
)

// Databases a run can cover.
const (
	dbSQLite = "sqlite"
	dbMySQL  = "mysql"
)

// options are stepsbench's flags.
type options struct {
	quick       bool
	historyRows int
	runs        int
	requests    int
	warmup      int
	concurrency []int
	rows        int
	rowsSmall   int
	cliRuns     int
	dbs         []string
	phases      []string
	mysqlURL    string
	dbPrefix    string
	ref         string
	stepsdBin   string
	stepsctlBin string
	mariadbCLI  string
	jsonOut     string
	benchOut    string
	workDir     string
	keep        bool
	timeout     time.Duration
	loadTimeout time.Duration
	baseConns   int
	ports       string
	portLo      int // first port of --ports; 0: any free port
	portHi      int

	stdout, stderr io.Writer
}

// quickDefaults replace the full run's sizes under --quick, for each flag
// not given explicitly.
var quickDefaults = map[string]string{
	"runs":       "1",
	"requests":   "300",
	"rows":       "20000",
	"rows-small": "2000",
	"cli-runs":   "3",
	"timeout":    "3m",
}

// newRootCmd returns the stepsbench command. runF replaces benchRun in
// tests of flag parsing.
func newRootCmd(stdout, stderr io.Writer, runF func(context.Context, *options) error) *cobra.Command {
	opts := &options{stdout: stdout, stderr: stderr}
	cmd := &cobra.Command{
		Use:   "stepsbench [flags]",
		Short: "Measure stepsd and stepsctl end to end, beside their practical limits",
		Long: `stepsbench builds stepsd and stepsctl, starts stepsd on a free loopback port
on the SQLite default and on MariaDB (a fresh database each), and measures:

  ingest       POST /v1/steps at each concurrency, a fixed number of requests:
               req/s, p50, p99, errors; the same load against a baseline server
               (net/http + database/sql, one prepared INSERT per request, same
               table, same database, same durability) run as a subprocess of
               this binary, so both servers share the machine alike
  export       GET /v1/steps?format=csv and ?format=ndjson over --rows-small and
               --rows rows: rows/s, bytes/s, stepsd's peak RSS; against
               "mariadb --batch --quick -e 'SELECT ...'" over the same rows
  deployments  GET /v1/deployments?format=ndjson and GET /v1/stats over --rows
               rows: time and stepsd's peak RSS
  cli          "stepsctl record" as a whole process against curl sending the same
               request: wall time

Each figure is the median of --runs runs; each ratio is computed within one
run, then its median taken. The table goes to stdout, progress to stderr.
Only 127.0.0.1 is ever contacted.

Exit codes: 0 success, 1 a measurement broke (request errors, wrong row
counts, a process that would not start), 2 usage error. A missed goal is
reported, not a failure.`,
		Example: `  # Full run (a few minutes), with JSON and benchstat output
  go run ./cmd/stepsbench --json bench.json --benchstat bench.txt

  # CI smoke test: small counts, one run, well under a minute
  go run ./cmd/stepsbench --quick

  # Only ingest on MariaDB at concurrency 32, five runs
  go run ./cmd/stepsbench --dbs mysql --phases ingest --concurrency 32 --runs 5

  # Compare two commits with benchstat
  go run ./cmd/stepsbench --ref HEAD~1 --benchstat old.txt
  go run ./cmd/stepsbench --ref HEAD --benchstat new.txt
  benchstat old.txt new.txt`,
		Args:          usageArgs(cobra.NoArgs),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.finish(cmd); err != nil {
				return usageError{err}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return benchRun(cmd.Context(), opts)
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	fl := cmd.Flags()
	fl.BoolVar(&opts.quick, "quick", false, "small counts and one run, for CI: checks that everything works, in well under a minute")
	fl.IntVar(&opts.runs, "runs", 3, "runs of every measurement; figures are medians (quick: 1)")
	fl.IntVar(&opts.requests, "requests", 5000, "POST /v1/steps requests per ingest load (quick: 300)")
	// Its default depends on --requests, so it is applied in finish when
	// the flag is not given: a sentinel default (-1) showed in --help as
	// "(default -1)" after the real one.
	fl.IntVar(&opts.warmup, "warmup", 0, "unmeasured requests before each ingest load, to open connections; 0 for none (default: a tenth of --requests, at most 500)")
	fl.IntSliceVar(&opts.concurrency, "concurrency", []int{1, 8, 32, 64}, "concurrent clients of the ingest loads")
	fl.IntVar(&opts.rows, "rows", 1_000_000, "rows seeded for export, deployments and stats (quick: 20000)")
	fl.IntVar(&opts.rowsSmall, "rows-small", 100_000, "export is measured first at this many rows, to show memory flat in the row count; 0 skips (quick: 2000)")
	fl.IntVar(&opts.cliRuns, "cli-runs", 9, "stepsctl and curl invocations per run; their medians are compared (quick: 3)")
	fl.StringSliceVar(&opts.dbs, "dbs", []string{dbSQLite, dbMySQL}, "databases: sqlite, mysql")
	fl.StringSliceVar(&opts.phases, "phases", allPhases, "phases: "+strings.Join(allPhases, ", ")+" (the default), and "+phaseHistory+
		": --history-rows steps seeded, then deployments, stats and the page over them (minutes; never with --quick)")
	fl.IntVar(&opts.historyRows, "history-rows", 10_000_000, "steps seeded by the "+phaseHistory+" phase")
	fl.StringVar(&opts.mysqlURL, "mysql", "mysql://root@127.0.0.1:3306", "MariaDB/MySQL server (loopback only) on which the bench databases are created and dropped")
	fl.StringVar(&opts.dbPrefix, "db-name", "steps_bench", "MariaDB database for stepsd; the baseline's is this plus _baseline; both are dropped and recreated")
	fl.StringVar(&opts.ref, "ref", "", "build stepsd and stepsctl from this git revision (git archive into the work directory) instead of the working tree, e.g. HEAD or HEAD~3")
	fl.StringVar(&opts.stepsdBin, "stepsd", "", "use this stepsd binary instead of building ./cmd/stepsd (e.g. another commit's)")
	fl.StringVar(&opts.stepsctlBin, "stepsctl", "", "use this stepsctl binary instead of building ./cmd/stepsctl")
	fl.StringVar(&opts.mariadbCLI, "mariadb-client", "mariadb", "the MariaDB command-line client, for the export baseline")
	fl.StringVar(&opts.jsonOut, "json", "", "also write the results as JSON to this file")
	fl.StringVar(&opts.benchOut, "benchstat", "", "also write one benchstat-compatible line per measurement to this file")
	fl.StringVar(&opts.workDir, "workdir", "", "directory for binaries and SQLite files, left in place (default: a new temporary directory, removed at the end)")
	fl.BoolVar(&opts.keep, "keep", false, "keep the temporary work directory and the MariaDB databases")
	fl.DurationVar(&opts.timeout, "timeout", 30*time.Minute, "give up the whole run after this long (quick: 3m)")
	fl.IntVar(&opts.baseConns, "baseline-conns", 0, "database connections of the baseline server (default: 64 on MySQL, one per client up to c=64; 1 on SQLite, its one writer)")
	fl.StringVar(&opts.ports, "ports", "", "loopback ports FROM-TO the servers may listen on, for a host shared with others who keep to their own ranges (default: any free port)")
	fl.DurationVar(&opts.loadTimeout, "load-timeout", 3*time.Minute, "give up one load (one ingest load, one seeding, one export) after this long")

	cmd.AddCommand(newBaselineCmd())
	return cmd
}

// dbNamePattern keeps the database names safe to splice into DDL.
var dbNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// finish applies --quick's defaults and checks the flags.
func (o *options) finish(cmd *cobra.Command) error {
	if o.quick {
		for name, v := range quickDefaults {
			if !cmd.Flags().Changed(name) {
				if err := cmd.Flags().Set(name, v); err != nil {
					return err
				}
			}
		}
	}
	if !cmd.Flags().Changed("warmup") {
		o.warmup = min(o.requests/10, 500)
	}
	switch {
	case o.warmup < 0:
		return fmt.Errorf("--warmup must be 0 or more")
	case o.runs < 1:
		return fmt.Errorf("--runs must be at least 1")
	case o.requests < 1:
		return fmt.Errorf("--requests must be at least 1")
	case o.rows < 5:
		return fmt.Errorf("--rows must be at least 5 (one deploy)")
	case o.rowsSmall < 0 || o.rowsSmall >= o.rows:
		return fmt.Errorf("--rows-small must be from 0 to less than --rows")
	case o.cliRuns < 1:
		return fmt.Errorf("--cli-runs must be at least 1")
	case !dbNamePattern.MatchString(o.dbPrefix):
		return fmt.Errorf("--db-name must be lower-case letters, digits and _, starting with a letter")
	}
	for _, c := range o.concurrency {
		if c < 1 || c > 1024 {
			return fmt.Errorf("--concurrency %d: each must be from 1 to 1024", c)
		}
	}
	for _, db := range o.dbs {
		if db != dbSQLite && db != dbMySQL {
			return fmt.Errorf("--dbs: %q is not one of sqlite, mysql", db)
		}
	}
	for _, p := range o.phases {
		if !slices.Contains(knownPhases, p) {
			return fmt.Errorf("--phases: %q is not one of %s", p, strings.Join(knownPhases, ", "))
		}
	}
	if o.quick && o.has(phaseHistory) {
		return fmt.Errorf("--phases %s seeds %d steps: not with --quick", phaseHistory, o.historyRows)
	}
	if o.ports != "" {
		if err := o.parsePorts(); err != nil {
			return err
		}
	}
	if o.historyRows < 5 {
		return fmt.Errorf("--history-rows must be at least 5 (one deploy)")
	}
	return nil
}

// parsePorts reads --ports FROM-TO into portLo and portHi.
func (o *options) parsePorts() error {
	from, to, ok := strings.Cut(o.ports, "-")
	lo, err1 := strconv.Atoi(from)
	hi, err2 := strconv.Atoi(to)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return fmt.Errorf("--ports %q: give FROM-TO, two ports from 1 to 65535, e.g. 9450-9499", o.ports)
	}
	o.portLo, o.portHi = lo, hi
	return nil
}

func (o *options) portRange() portRange { return portRange{o.portLo, o.portHi} }

func (o *options) has(phase string) bool {
	return slices.Contains(o.phases, phase)
}

func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
