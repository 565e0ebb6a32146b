package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/store"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
}

func TestMedianAndRatioAreTakenRunByRun(t *testing.T) {
	r := &Results{}
	for run, v := range map[int][2]float64{1: {100, 200}, 2: {300, 300}, 3: {90, 100}} {
		r.add("A", run, 1, Metric{unitReqs, v[0]})
		r.add("B", run, 1, Metric{unitReqs, v[1]})
	}
	if got, _ := r.figure("A", unitReqs); got != 100 {
		t.Errorf("median of A = %v, want 100", got)
	}
	f, ok := r.ratio("A/B", "A", unitReqs, "B", unitReqs)
	if !ok || f.Value != 0.9 {
		t.Errorf("ratio = %v (%v), want the median of 0.5, 1, 0.9 = 0.9", f.Value, f.Values)
	}
}

func TestErrorsAddUpAndRSSTakesTheLargest(t *testing.T) {
	r := &Results{}
	r.add("X", 1, 1, Metric{unitErrors, 2}, Metric{unitRSS, 30})
	r.add("X", 2, 1, Metric{unitErrors, 1}, Metric{unitRSS, 50})
	r.add("X", 3, 1, Metric{unitErrors, 0}, Metric{unitRSS, 40})
	if got, _ := r.figure("X", unitErrors); got != 3 {
		t.Errorf("errors = %v, want the total 3", got)
	}
	if got, _ := r.figure("X", unitRSS); got != 50 {
		t.Errorf("peak RSS = %v, want the largest 50", got)
	}
}

func TestBenchstatLines(t *testing.T) {
	r := &Results{Machine: map[string]string{"goarch": "amd64", "cpu": "Test CPU"}}
	r.add("Ingest/db=sqlite/server=stepsd/c=32", 1, 5000, Metric{unitNsOp, 250000}, Metric{unitReqs, 4000.5})
	r.Ratios = []Figure{{Name: "IngestRatio/db=sqlite/c=32/metric=req-per-s", Unit: unitRatio, Values: []float64{0.95}}}
	var b bytes.Buffer
	if err := r.writeBenchstat(&b); err != nil {
		t.Fatal(err)
	}
	want := `goos: linux
goarch: amd64
pkg: github.com/steps-dev/steps/cmd/stepsbench
cpu: Test CPU
BenchmarkIngest/db=sqlite/server=stepsd/c=32 5000 250000 ns/op 4000.5 req/s
BenchmarkIngestRatio/db=sqlite/c=32/metric=req-per-s 1 0.95 x
`
	if got := b.String(); got != want {
		t.Errorf("benchstat output:\n%s\nwant:\n%s", got, want)
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500", 12.6: "13"} {
		if got := group(in); got != want {
			t.Errorf("group(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestQuickSetsSmallDefaultsButKeepsExplicitFlags(t *testing.T) {
	for _, tc := range []struct {
		args                             []string
		runs, requests, warmup, rows, cl int
	}{
		{nil, 3, 5000, 500, 1_000_000, 9},
		{[]string{"--quick"}, 1, 300, 30, 20_000, 3},
		{[]string{"--quick", "--requests", "77", "--runs", "2"}, 2, 77, 7, 20_000, 3},
		{[]string{"--warmup", "0"}, 3, 5000, 0, 1_000_000, 9},
	} {
		var o *options
		cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}, func(_ context.Context, got *options) error {
			o = got
			return nil
		})
		cmd.SetArgs(tc.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if o.runs != tc.runs || o.requests != tc.requests || o.warmup != tc.warmup || o.rows != tc.rows || o.cliRuns != tc.cl {
			t.Errorf("%q: runs=%d requests=%d warmup=%d rows=%d cli-runs=%d, want %d %d %d %d %d", tc.args,
				o.runs, o.requests, o.warmup, o.rows, o.cliRuns, tc.runs, tc.requests, tc.warmup, tc.rows, tc.cl)
		}
	}
}

// TestHelpShowsEachDefaultOnce: a flag whose default is computed from
// others says so in its help, and --help adds no "(default …)" of a
// sentinel after it (--warmup read "(default: a tenth of --requests, at
// most 500) (default -1)").
func TestHelpShowsEachDefaultOnce(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "(default:") && strings.Contains(line, ") (default ") {
			t.Errorf("a flag with two defaults: %s", strings.TrimSpace(line))
		}
	}
	// The sentinel is gone: a negative warmup is refused, not read as
	// "the default", and nothing is measured.
	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}, func(context.Context, *options) error {
		t.Error("--warmup -1 ran the benchmark")
		return nil
	})
	cmd.SetArgs([]string{"--warmup", "-1"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--warmup") {
		t.Errorf("--warmup -1: %v, want an error naming --warmup", err)
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--dbs", "postgres"}, {"--phases", "everything"}, {"--runs", "0"}, {"--rows-small", "2000000"},
		{"--db-name", "x; DROP DATABASE mysql"}, {"--concurrency", "0"}, {"extra"},
		{"--ports", "9499-9450"}, {"--ports", "9450"}, {"--ports", "0-10"},
	} {
		code := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if code != 2 {
			t.Errorf("stepsbench %q: exit %d, want 2", args, code)
		}
	}
}

// TestPortsKeepServersInTheirRange: on a host shared with others who each
// keep to a range of ports, every server the bench starts listens in its
// range, the first free port of it.
func TestPortsKeepServersInTheirRange(t *testing.T) {
	// A busy port whose next one is free: both held until the check, so
	// that other tests' ephemeral ports (the kernel hands out neighbours)
	// do not take the next one first, as one did in CI.
	var busy, next net.Listener
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if p := l.Addr().(*net.TCPAddr).Port; p < 65535 {
			if n, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1))); err == nil {
				busy, next = l, n
				break
			}
		}
		l.Close()
	}
	if busy == nil {
		t.Skip("found no free port next to a busy one in 50 tries")
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	next.Close()
	addr, err := freeLoopbackAddr(portRange{port, port + 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)); addr != want {
		t.Errorf("port %d busy: the bench picked %s, want %s, the next of the range", port, addr, want)
	}
	if _, err := freeLoopbackAddr(portRange{port, port}); err == nil {
		t.Errorf("a range of one busy port gave a port, want an error")
	}
}

func TestStepURLIsAValidStep(t *testing.T) {
	u := stepURL("http://127.0.0.1:1", 123)
	req := httptest.NewRequest(http.MethodPost, u, nil)
	q := req.URL.Query()
	for _, name := range []string{"component", "version", "owner", "status", "environment"} {
		if q.Get(name) == "" {
			t.Errorf("%s: no %s", u, name)
		}
	}
}

// Ten million steps a minute apart would run to 2039: the history phase
// failed with stepsd refusing steps in the future. Its spacing keeps the
// last step in the past; a million keep their minute.
func TestSeedSpacingStaysInThePast(t *testing.T) {
	now := time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC)
	if got := seedSpacing(1_000_000, now); got != time.Minute {
		t.Errorf("a million steps %s apart, want a minute", got)
	}
	for _, total := range []int{4_000_000, 10_000_000, 1_000_000_000} {
		sp := seedSpacing(total, now)
		if last := seedStart.Add(time.Duration(total-1) * sp); last.After(now) && sp > time.Second {
			t.Errorf("%d steps %s apart: the last at %s, after now", total, sp, last)
		}
		if sp < time.Second || sp%time.Second != 0 {
			t.Errorf("%d steps %s apart: not whole seconds", total, sp)
		}
	}
}

func TestSeedStepsAreJSON(t *testing.T) {
	var step map[string]string
	if err := json.Unmarshal(appendSeedStep(nil, 7, time.Minute), &step); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"component": "component-1", "version": "1.0.0", "owner": "deploy-bot", "status": "migrate",
		"environment": "production", "time": "2020-01-01T00:07:00Z"}
	for k, v := range want {
		if step[k] != v {
			t.Errorf("%s = %q, want %q", k, step[k], v)
		}
	}
}

// The baseline writes into the table stepsd's migrations make, with the
// pragmas stepsd uses, and answers as stepsd does.
func TestBaselineStoresStepsInStepsdsTable(t *testing.T) {
	ctx := context.Background()
	target := sqliteTarget{dir: t.TempDir()}
	st, err := store.Open(ctx, target.stepsdDSN(roleBaseline))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	driver, dsn := target.baselineDSN(roleBaseline)
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert, err := db.PrepareContext(ctx, baselineInsert)
	if err != nil {
		t.Fatal(err)
	}
	defer insert.Close()
	srv := httptest.NewServer(baselineHandler(insert))
	defer srv.Close()

	res, err := http.Post(stepURL(srv.URL, 3), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got baselineStep
	json.NewDecoder(res.Body).Decode(&got) //nolint:errcheck // checked below
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || got.ID != 1 || got.Status != "rollout" {
		t.Errorf("POST: %s, %+v; want 201 with step 1, status rollout", res.Status, got)
	}
	res, err = http.Post(strings.Replace(stepURL(srv.URL, 3), "owner=bench", "owner=", 1), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST without owner: %s, want 400", res.Status)
	}

	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM steps WHERE time = received_at").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows = %d (%v), want 1", n, err)
	}
}
