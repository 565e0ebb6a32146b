package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// bench is one run of the harness.
type bench struct {
	opts  *options
	res   *Results
	start time.Time

	work     string
	stepsd   string
	stepsctl string
	self     string
	curl     string
	mariadb  string
	mysql    *mysqlServer
	dbPid    int    // mariadbd's, when found: its CPU time is measured
	target   target // the database being measured
	requests int    // requests sent so far, so that every load's steps differ

	serveArgs []string
}

// benchRun runs every phase on every database, prints the table and writes
// the files asked for.
func benchRun(ctx context.Context, opts *options) (err error) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	b := &bench{opts: opts, start: time.Now(), res: &Results{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Machine: map[string]string{},
		Settings: map[string]any{
			"quick": opts.quick, "runs": opts.runs, "requests": opts.requests, "warmup": opts.warmup,
			"concurrency": opts.concurrency, "rows": opts.rows, "rows_small": opts.rowsSmall,
			"cli_runs": opts.cliRuns, "dbs": opts.dbs, "phases": opts.phases,
		},
	}}

	// A temporary work directory is removed at the end; one given with
	// --workdir is the user's, and is left in place.
	b.work = opts.workDir
	if b.work == "" {
		if b.work, err = os.MkdirTemp("", "stepsbench-"); err != nil {
			return err
		}
		if !opts.keep {
			defer os.RemoveAll(b.work)
		}
	} else if err := os.MkdirAll(b.work, 0o750); err != nil {
		return err
	}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if b.mysql != nil {
		defer b.mysql.admin.Close()
	}

	var targets []target
	for _, db := range opts.dbs {
		switch db {
		case dbSQLite:
			targets = append(targets, sqliteTarget{dir: filepath.Join(b.work, "sqlite")})
		case dbMySQL:
			targets = append(targets, mysqlTarget{server: b.mysql, prefix: opts.dbPrefix})
		}
	}
	for _, t := range targets {
		b.target = t
		if !opts.keep {
			defer t.drop(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at the end
		}
		if opts.has(phaseIngest) || opts.has(phaseCLI) {
			if err := b.ingestPhase(ctx, t); err != nil {
				b.res.fail("%s: ingest: %v", t.name(), err)
			}
		}
		if opts.has(phaseExport) || opts.has(phaseDeployments) {
			if err := b.historyPhase(ctx, t); err != nil {
				b.res.fail("%s: history: %v", t.name(), err)
			}
		}
		if opts.has(phaseHistory) {
			if err := b.largeHistoryPhase(ctx, t); err != nil {
				b.res.fail("%s: %s: %v", t.name(), phaseHistory, err)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	b.res.Seconds = time.Since(b.start).Seconds()
	b.res.Machine["load_average_end"] = loadAverage()
	b.report()

	if opts.jsonOut != "" {
		if err := b.res.writeJSON(opts.jsonOut); err != nil {
			return err
		}
	}
	if opts.benchOut != "" {
		f, err := os.Create(opts.benchOut)
		if err != nil {
			return err
		}
		if err := b.res.writeBenchstat(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped after %s: %w", time.Since(b.start).Round(time.Second), err)
	}
	if n := len(b.res.Failures); n > 0 {
		return fmt.Errorf("%d measurement(s) broke; first: %s", n, b.res.Failures[0])
	}
	return nil
}

// logf prints progress to stderr, with the time since the start.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.opts.stderr, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// prepare builds the binaries, finds the tools and describes the machine.
func (b *bench) prepare(ctx context.Context) error {
	opts := b.opts
	root, err := moduleRoot(ctx)
	if err != nil && (opts.stepsdBin == "" || opts.stepsctlBin == "") {
		return err
	}
	bin := filepath.Join(b.work, "bin")
	b.stepsd, b.stepsctl = opts.stepsdBin, opts.stepsctlBin
	src := root
	if opts.ref != "" && root != "" {
		if src, err = checkout(ctx, root, opts.ref, filepath.Join(b.work, "src")); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		path *string
		pkg  string
	}{{&b.stepsd, "./cmd/stepsd"}, {&b.stepsctl, "./cmd/stepsctl"}} {
		if *p.path != "" {
			abs, err := filepath.Abs(*p.path)
			if err != nil {
				return err
			}
			*p.path = abs
			continue
		}
		if p.pkg == "./cmd/stepsctl" && !opts.has(phaseCLI) {
			continue
		}
		start := time.Now()
		out := filepath.Join(bin, filepath.Base(p.pkg))
		if err := goBuild(ctx, src, p.pkg, out); err != nil {
			return err
		}
		*p.path = out
		b.logf("built %s in %s", p.pkg, time.Since(start).Round(time.Millisecond))
	}
	if b.self, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary for the baseline server: %w", err)
	}
	if opts.has(phaseCLI) {
		if b.curl, err = exec.LookPath("curl"); err != nil {
			return fmt.Errorf("the cli phase needs curl: %w", err)
		}
	}
	wantMySQL := false
	for _, db := range opts.dbs {
		wantMySQL = wantMySQL || db == dbMySQL
	}
	if wantMySQL {
		if b.mysql, err = connectMySQL(ctx, opts.mysqlURL); err != nil {
			return err
		}
		b.dbPid = b.mysql.pid(ctx)
		if opts.has(phaseExport) {
			if b.mariadb, err = exec.LookPath(opts.mariadbCLI); err != nil {
				if b.mariadb, err = exec.LookPath("mysql"); err != nil {
					return fmt.Errorf("the export phase on MariaDB needs its command-line client (--mariadb-client): %w", err)
				}
			}
		}
	}
	b.describe(ctx, root)
	return nil
}

// checkout writes the tree of ref into dir (git archive: the repository and
// its working tree are left alone) and returns dir.
func checkout(ctx context.Context, root, ref, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", ref)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	var archiveErr, untarErr tailBuffer
	archiveErr.max, untarErr.max = 2<<10, 2<<10
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		untar.Wait() //nolint:errcheck // the archive's error is the one to report
		return "", fmt.Errorf("git archive %s: %w: %s", ref, err, archiveErr.String())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("unpack %s: %w: %s", ref, err, untarErr.String())
	}
	return dir, nil
}

// moduleRoot is the directory of the main module (where go.mod is).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run stepsbench inside the steps module (go run ./cmd/stepsbench), or give --stepsd and --stepsctl: %v", err)
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds pkg into out as the container image does: CGO off, so the
// SQLite driver is the pure-Go one stepsd ships with.
func goBuild(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// startStepsd starts stepsd on t's database of role, with the per-client
// rate limit off (all load comes from one address) and quiet logs.
func (b *bench) startStepsd(ctx context.Context, t target, role string) (*server, error) {
	return startServer(ctx, "stepsd ("+t.name()+")", b.stepsd, b.stepsdArgs(ctx),
		childEnv("STEPSD_DB="+t.stepsdDSN(role)), b.work, b.opts.portRange())
}

// stepsdArgs are the arguments of "stepsd serve" before --listen. A stepsd
// built from an older commit (--ref) may not know --rate-limit: it had no
// limit, so the flag is left out.
func (b *bench) stepsdArgs(ctx context.Context) []string {
	if b.serveArgs == nil {
		b.serveArgs = []string{"serve", "--log-level", "warn"}
		help, _ := exec.CommandContext(ctx, b.stepsd, "serve", "--help").CombinedOutput()
		if strings.Contains(string(help), "--rate-limit") {
			b.serveArgs = append(b.serveArgs, "--rate-limit", "0")
		}
	}
	return b.serveArgs
}

// ingestPhase measures POST /v1/steps on stepsd and on the baseline, load by
// load, alternating which goes first, and stepsctl record against curl.
func (b *bench) ingestPhase(ctx context.Context, t target) error {
	opts := b.opts
	for _, role := range []string{roleStepsd, roleBaseline} {
		if err := t.fresh(ctx, role); err != nil {
			return err
		}
	}
	sd, err := b.startStepsd(ctx, t, roleStepsd)
	if err != nil {
		return err
	}
	defer sd.stop()
	var base *server
	if opts.has(phaseIngest) {
		// The baseline writes to stepsd's own table: stepsd migrate makes it.
		migrate := exec.CommandContext(ctx, b.stepsd, "migrate", "--log-level", "warn")
		migrate.Dir = b.work
		migrate.Env = childEnv("STEPSD_DB=" + t.stepsdDSN(roleBaseline))
		if msg, err := migrate.CombinedOutput(); err != nil {
			return fmt.Errorf("stepsd migrate for the baseline: %w: %s", err, msg)
		}
		driver, dsn := t.baselineDSN(roleBaseline)
		base, err = startServer(ctx, "baseline ("+t.name()+")", b.self, []string{"baseline-server", "--driver", driver, "--max-conns", strconv.Itoa(opts.baseConns)},
			childEnv(envBaselineDSN+"="+dsn), b.work, opts.portRange())
		if err != nil {
			return err
		}
		defer base.stop()
	}

	for run := 1; run <= opts.runs; run++ {
		if opts.has(phaseIngest) {
			for ci, c := range opts.concurrency {
				servers := []*server{sd, base}
				if (run+ci)%2 == 0 {
					servers[0], servers[1] = base, sd
				}
				for _, s := range servers {
					if err := b.load(ctx, t, s, s == sd, run, c); err != nil {
						return err
					}
				}
			}
		}
		if opts.has(phaseCLI) {
			if err := b.cli(ctx, t, sd, run); err != nil {
				return err
			}
		}
	}
	return nil
}

// load measures one ingest load on s and records it.
func (b *bench) load(ctx context.Context, t target, s *server, isStepsd bool, run, c int) error {
	opts := b.opts
	role := roleBaseline
	if isStepsd {
		role = roleStepsd
	}
	hc := newLoadClient(c)
	defer hc.CloseIdleConnections()
	if opts.warmup > 0 {
		w := runLoad(ctx, hc, s.url, opts.warmup, c, b.requests)
		b.requests += opts.warmup
		if w.Errors > 0 {
			b.res.fail("%s: ingest warm-up c=%d %s: %d errors; first: %s", t.name(), c, role, w.Errors, w.FirstErr)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, opts.loadTimeout)
	meter := b.startCPU(t, s)
	r := runLoad(lctx, hc, s.url, opts.requests, c, b.requests)
	cpu := meter.stop()
	cancel()
	b.requests += opts.requests
	name := fmt.Sprintf("Ingest/db=%s/server=%s/c=%d", t.name(), role, c)
	metrics := []Metric{
		{unitNsOp, float64(r.Elapsed.Nanoseconds()) / float64(r.Requests)},
		{unitReqs, r.ReqPerSec()},
		{unitP50, ms(r.P50)},
		{unitP99, ms(r.P99)},
		{unitErrors, float64(r.Errors)},
		{unitLocked, float64(r.Locked)},
	}
	perReq := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(r.Completed, 1)) }
	if cpu.ok {
		metrics = append(metrics, Metric{unitCPU, perReq(cpu.server)})
		if cpu.hasDB {
			metrics = append(metrics, Metric{unitDBCPU, perReq(cpu.db)})
		}
	}
	b.res.add(name, run, r.Requests, metrics...)
	dbCPU := ""
	if cpu.hasDB {
		dbCPU = fmt.Sprintf(", mariadbd %.0f", perReq(cpu.db))
	}
	b.logf("%s run %d/%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors; CPU µs/req: server %.0f%s", name, run, opts.runs,
		r.ReqPerSec(), ms(r.P50), ms(r.P99), r.Errors, perReq(cpu.server), dbCPU)
	if r.Errors > 0 {
		b.res.fail("%s run %d: %d of %d requests failed (%d locked); first: %s", name, run, r.Errors, r.Requests, r.Locked, r.FirstErr)
	}
	return s.alive()
}

// cpuUse is the CPU time a server, and the MariaDB server when it is the
// database, used during a measurement.
type cpuUse struct {
	server, db time.Duration
	hasDB, ok  bool
}

type cpuWatch struct {
	m     *cpuMeter
	hasDB bool
}

// startCPU starts measuring the CPU time of s and, on MariaDB, of mariadbd.
func (b *bench) startCPU(t target, s *server) cpuWatch {
	pids := []int{s.cmd.Process.Pid}
	hasDB := t.name() == dbMySQL && b.dbPid != 0
	if hasDB {
		pids = append(pids, b.dbPid)
	}
	return cpuWatch{m: startCPU(pids...), hasDB: hasDB}
}

func (w cpuWatch) stop() cpuUse {
	ds, ok := w.m.stop()
	u := cpuUse{server: ds[0], hasDB: w.hasDB, ok: ok}
	if w.hasDB {
		u.db = ds[1]
	}
	return u
}

// cli times stepsctl record and curl, pair by pair, alternating which goes
// first, and records the median of each.
func (b *bench) cli(ctx context.Context, t target, sd *server, run int) error {
	home := filepath.Join(b.work, "home-"+t.name())
	var ctl, curl []float64
	for i := range b.opts.cliRuns {
		c, u, err := cliPair(ctx, b.stepsctl, b.curl, sd.url, home, run*1000+i, i%2 == 1)
		if err != nil {
			return err
		}
		ctl, curl = append(ctl, ms(c)), append(curl, ms(u))
	}
	for _, x := range []struct {
		cmd string
		ms  []float64
	}{{"stepsctl", ctl}, {"curl", curl}} {
		name := fmt.Sprintf("Record/db=%s/cmd=%s", t.name(), x.cmd)
		m := median(x.ms)
		b.res.add(name, run, len(x.ms), Metric{unitNsOp, m * 1e6}, Metric{unitWallMs, m})
		b.logf("%s run %d/%d: median %.1f ms of %d", name, run, b.opts.runs, m, len(x.ms))
	}
	return nil
}

// historyPhase seeds a fresh database with the generated history, first
// --rows-small rows then up to --rows, and measures the reads at each size.
func (b *bench) historyPhase(ctx context.Context, t target) error {
	opts := b.opts
	if err := t.fresh(ctx, roleStepsd); err != nil {
		return err
	}
	sizes := []int{opts.rows}
	if opts.rowsSmall > 0 && opts.has(phaseExport) {
		sizes = []int{opts.rowsSmall, opts.rows}
	}
	seeded := 0
	for _, rows := range sizes {
		sd, err := b.startStepsd(ctx, t, roleStepsd)
		if err != nil {
			return err
		}
		hc := &http.Client{Timeout: opts.loadTimeout}
		start := time.Now()
		err = seed(ctx, hc, sd.url, seeded, rows, seedSpacing(opts.rows, time.Now()))
		took := time.Since(start)
		sd.stop()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("Seed/db=%s/rows=%d", t.name(), rows)
		b.res.add(name, 1, rows-seeded, Metric{unitNsOp, float64(took.Nanoseconds()) / float64(rows-seeded)},
			Metric{unitRows, float64(rows-seeded) / took.Seconds()})
		b.logf("%s: %d rows in %s (%.0f rows/s through POST /v1/steps/batch)", name, rows-seeded, took.Round(time.Millisecond), float64(rows-seeded)/took.Seconds())
		seeded = rows
		if err := b.reads(ctx, t, rows, rows == opts.rows); err != nil {
			return err
		}
	}
	return nil
}

// read is one kind of whole-history request.
type read struct {
	name, path string
	lines      int64 // expected; -1: not checked
	export     bool
	withClient bool // on MariaDB, each run is followed by the mariadb client's
}

// reads measures each kind of read of rows rows (with full, deployments and
// stats too) on a stepsd started for that kind alone, so that its peak RSS
// is that kind's, not what an earlier request left in the heap. On MariaDB
// each CSV export run is followed by the mariadb client's over the same rows.
func (b *bench) reads(ctx context.Context, t target, rows int, full bool) error {
	opts := b.opts
	var reads []read
	if opts.has(phaseExport) {
		reads = append(reads,
			read{fmt.Sprintf("Export/db=%s/rows=%d/format=csv", t.name(), rows), "/v1/steps?format=csv", int64(rows) + 1, true, true},
			read{fmt.Sprintf("Export/db=%s/rows=%d/format=ndjson", t.name(), rows), "/v1/steps?format=ndjson", int64(rows), true, false})
	}
	if full && opts.has(phaseDeployments) {
		reads = append(reads, deploymentReads(t, rows)...)
	}
	return b.measureReads(ctx, t, rows, reads)
}

// deploymentReads are the reads of deployments over rows seeded steps:
// the list, the stats, and the page over the whole history.
func deploymentReads(t target, rows int) []read {
	return []read{
		{fmt.Sprintf("Deployments/db=%s/rows=%d", t.name(), rows), "/v1/deployments?format=ndjson", int64((rows + 4) / 5), false, false},
		{fmt.Sprintf("Stats/db=%s/rows=%d", t.name(), rows), "/v1/stats?bucket=week", -1, false, false},
		{fmt.Sprintf("Page/db=%s/rows=%d", t.name(), rows), "/?since=" + seedStart.Format("2006-01-02"), -1, false, false},
	}
}

// largeHistoryPhase seeds --history-rows steps into a fresh database and
// measures deployments, stats and the page over them.
func (b *bench) largeHistoryPhase(ctx context.Context, t target) error {
	rows := b.opts.historyRows
	if err := t.fresh(ctx, roleStepsd); err != nil {
		return err
	}
	sd, err := b.startStepsd(ctx, t, roleStepsd)
	if err != nil {
		return err
	}
	start := time.Now()
	err = seed(ctx, &http.Client{Timeout: b.opts.loadTimeout}, sd.url, 0, rows, seedSpacing(rows, time.Now()))
	took := time.Since(start)
	sd.stop()
	if err != nil {
		return err
	}
	name := fmt.Sprintf("Seed/db=%s/rows=%d", t.name(), rows)
	b.res.add(name, 1, rows, Metric{unitNsOp, float64(took.Nanoseconds()) / float64(rows)}, Metric{unitRows, float64(rows) / took.Seconds()})
	b.logf("%s: %d rows in %s (%.0f rows/s through POST /v1/steps/batch)", name, rows, took.Round(time.Millisecond), float64(rows)/took.Seconds())
	return b.measureReads(ctx, t, rows, deploymentReads(t, rows))
}

// measureReads runs each read on a stepsd started for it alone.
func (b *bench) measureReads(ctx context.Context, t target, rows int, reads []read) error {
	opts := b.opts
	for _, rd := range reads {
		sd, err := b.startStepsd(ctx, t, roleStepsd)
		if err != nil {
			return err
		}
		if err := b.waitSealed(ctx, sd); err != nil {
			sd.stop()
			return err
		}
		for run := 1; run <= opts.runs && err == nil; run++ {
			err = b.read(ctx, sd, rd, rows, run)
			if err == nil && rd.withClient && t.name() == dbMySQL {
				err = b.clientRead(ctx, t, rows, run)
			}
		}
		sd.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// waitSealed waits, on a stepsd that seals deployments into blocks
// (issue 13; its /metrics has steps_sealing_passes_total), for its first
// pass of sealing to end: reads are measured over a history sealed as far
// as it can be, as a stepsd that has run for a while reads it. Sealing a
// history the first time is timed and logged. A stepsd without sealing
// (an older --ref) is not waited for.
func (b *bench) waitSealed(ctx context.Context, sd *server) error {
	start := time.Now()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	for {
		passes, unsealed, ok, err := sealingProgress(ctx, hc, sd.url)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if passes > 0 {
			b.logf("sealing caught up after %s (%s unsealed deployments left); reads measured from here", time.Since(start).Round(time.Millisecond), unsealed)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sealingProgress reads stepsd's sealing metrics; ok is false when it has
// none.
func sealingProgress(ctx context.Context, hc *http.Client, base string) (passes float64, unsealed string, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, "", false, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", false, fmt.Errorf("stepsd metrics: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", false, fmt.Errorf("stepsd metrics: %w", err)
	}
	for line := range strings.Lines(string(body)) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch name {
		case "steps_sealing_passes_total":
			ok = true
			if passes, err = strconv.ParseFloat(value, 64); err != nil {
				return 0, "", false, fmt.Errorf("stepsd metrics: %s: %w", line, err)
			}
		case "steps_unsealed_deployments":
			unsealed = value
		}
	}
	return passes, unsealed, ok, nil
}

// read measures one request of kind rd: time, size and stepsd's peak RSS.
func (b *bench) read(ctx context.Context, sd *server, rd read, rows, run int) error {
	hc := &http.Client{Timeout: b.opts.loadTimeout, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	rctx, cancel := context.WithTimeout(ctx, b.opts.loadTimeout)
	defer cancel()
	stop := sd.watchPeakRSS()
	meter := b.startCPU(b.target, sd)
	tr, err := fetch(rctx, hc, sd.url+rd.path)
	cpu := meter.stop()
	peak, rssErr := stop()
	if err != nil {
		return fmt.Errorf("%s: %w (%v)", rd.name, err, sd.alive())
	}
	if rssErr != nil {
		return rssErr
	}
	if rd.lines >= 0 && tr.Lines != rd.lines {
		b.res.fail("%s run %d: %d lines, want %d", rd.name, run, tr.Lines, rd.lines)
	}
	metrics := []Metric{{unitNsOp, float64(tr.Elapsed.Nanoseconds())}}
	if rd.export {
		metrics = append(metrics, Metric{unitRows, float64(rows) / tr.Elapsed.Seconds()})
	}
	metrics = append(metrics, Metric{unitMBs, float64(tr.Bytes) / 1e6 / tr.Elapsed.Seconds()},
		Metric{unitBytes, float64(tr.Bytes)}, Metric{unitRSS, float64(peak) / (1 << 20)})
	if cpu.ok {
		metrics = append(metrics, Metric{unitCPUMs, ms(cpu.server)})
		if cpu.hasDB {
			metrics = append(metrics, Metric{unitDBCPUMs, ms(cpu.db)})
		}
	}
	b.res.add(rd.name, run, 1, metrics...)
	dbCPU := ""
	if cpu.hasDB {
		dbCPU = ", mariadbd " + cpu.db.Round(time.Millisecond).String()
	}
	b.logf("%s run %d/%d: %s, %.1f MB, peak RSS %.1f MiB; CPU: stepsd %s%s", rd.name, run, b.opts.runs, tr.Elapsed.Round(time.Millisecond),
		float64(tr.Bytes)/1e6, float64(peak)/(1<<20), cpu.server.Round(time.Millisecond), dbCPU)
	return nil
}

// clientRead measures the mariadb command-line client over the rows of the
// export: the database's own limit for streaming them out.
func (b *bench) clientRead(ctx context.Context, t target, rows, run int) error {
	name := fmt.Sprintf("Export/db=%s/rows=%d/format=mariadb-client", t.name(), rows)
	rctx, cancel := context.WithTimeout(ctx, b.opts.loadTimeout)
	defer cancel()
	var meter *cpuMeter
	if b.dbPid != 0 {
		meter = startCPU(b.dbPid)
	}
	tr, err := clientExport(rctx, b.mariadb, b.mysql, b.opts.dbPrefix)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if tr.Lines != int64(rows)+1 {
		b.res.fail("%s run %d: %d lines, want %d", name, run, tr.Lines, rows+1)
	}
	metrics := []Metric{{unitNsOp, float64(tr.Elapsed.Nanoseconds())},
		{unitRows, float64(rows) / tr.Elapsed.Seconds()},
		{unitMBs, float64(tr.Bytes) / 1e6 / tr.Elapsed.Seconds()}, {unitBytes, float64(tr.Bytes)}}
	if meter != nil {
		if ds, ok := meter.stop(); ok {
			metrics = append(metrics, Metric{unitDBCPUMs, ms(ds[0])})
		}
	}
	b.res.add(name, run, 1, metrics...)
	b.logf("%s run %d/%d: %s, %.1f MB", name, run, b.opts.runs, tr.Elapsed.Round(time.Millisecond), float64(tr.Bytes)/1e6)
	return nil
}

// describe records the machine, the tools and the build measured.
func (b *bench) describe(ctx context.Context, root string) {
	m := b.res.Machine
	m["goos"], m["goarch"] = runtime.GOOS, runtime.GOARCH
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m["go"] = strings.TrimSpace(string(out))
	}
	m["cpus"] = strconv.Itoa(runtime.NumCPU())
	if cpu := cpuModel(); cpu != "" {
		m["cpu"] = cpu
	}
	if mem := memTotal(); mem != "" {
		m["memory"] = mem
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(k))
	}
	switch {
	case b.opts.stepsdBin != "":
		m["commit"] = "stepsd from " + b.stepsd
	case root != "" && b.opts.ref != "":
		if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", b.opts.ref+"^{commit}").Output(); err == nil {
			m["commit"] = strings.TrimSpace(string(out)) + " (--ref " + b.opts.ref + ")"
		}
	case root != "":
		if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
			commit := strings.TrimSpace(string(out))
			if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--", "cmd/stepsd", "cmd/stepsctl", "pkg", "go.mod", "go.sum").Output(); err == nil && len(st) > 0 {
				commit += " with uncommitted changes to stepsd/stepsctl"
			}
			m["commit"] = commit
		}
	}
	if b.mysql != nil {
		if info, err := b.mysql.describe(ctx); err == nil {
			m["mariadb"] = info["version"]
			m["mariadb_durability"] = fmt.Sprintf("innodb_flush_log_at_trx_commit=%s sync_binlog=%s log_bin=%s", info["innodb_flush_log_at_trx_commit"], info["sync_binlog"], info["log_bin"])
			m["mariadb_buffer_pool"] = info["innodb_buffer_pool_size"]
		}
	}
	m["sqlite"] = "modernc.org/sqlite as the database/sql driver `sqlite`, WAL, synchronous=FULL, busy_timeout=30s"
	m["load_average_start"] = loadAverage()
	if one, err := strconv.ParseFloat(strings.Fields(m["load_average_start"] + " x")[0], 64); err == nil && one > float64(runtime.NumCPU()) {
		b.logf("warning: load average %s on %d CPUs: other work on this machine will slow and scatter the figures", m["load_average_start"], runtime.NumCPU())
	}
}

// loadAverage is the 1, 5 and 15 minute load averages of /proc/loadavg:
// other work on a shared machine shows there.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// memTotal is MemTotal of /proc/meminfo, in GiB.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return ""
			}
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return ""
}

func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
