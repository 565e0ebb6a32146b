package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// report computes the ratios and the goals and prints every table, as
// Markdown that also reads well in a terminal.
func (b *bench) report() {
	r := b.res
	r.summarise()
	r.Ratios, r.Goals = nil, nil
	dbs := b.opts.dbs
	sizes := []int{b.opts.rows}
	if b.opts.rowsSmall > 0 {
		sizes = []int{b.opts.rowsSmall, b.opts.rows}
	}
	w := b.opts.stdout

	fmt.Fprintf(w, "\n## stepsbench results (%s, %.0f s)\n\n", r.Date, r.Seconds)
	keys := make([]string, 0, len(r.Machine))
	for k := range r.Machine {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "- %s: %s\n", k, r.Machine[k])
	}
	fmt.Fprintf(w, "- settings: runs=%d requests=%d warmup=%d rows=%d rows-small=%d cli-runs=%d quick=%v\n",
		b.opts.runs, b.opts.requests, b.opts.warmup, b.opts.rows, b.opts.rowsSmall, b.opts.cliRuns, b.opts.quick)

	// Ingest.
	t := newTable(w, "db", "c", "stepsd req/s", "p50 ms", "p99 ms", "CPU µs/req", "errors", "baseline req/s", "p50 ms", "p99 ms", "CPU µs/req", "errors",
		"req/s ×baseline", "p99 ×baseline", "CPU ×baseline")
	for _, db := range dbs {
		for _, c := range b.opts.concurrency {
			sd := fmt.Sprintf("Ingest/db=%s/server=stepsd/c=%d", db, c)
			bl := fmt.Sprintf("Ingest/db=%s/server=baseline/c=%d", db, c)
			if _, ok := r.figure(sd, unitReqs); !ok {
				continue
			}
			rq, _ := r.ratio(fmt.Sprintf("IngestRatio/db=%s/c=%d/metric=req-per-s", db, c), sd, unitReqs, bl, unitReqs)
			p99, _ := r.ratio(fmt.Sprintf("IngestRatio/db=%s/c=%d/metric=p99", db, c), sd, unitP99, bl, unitP99)
			cpu, _ := r.ratio(fmt.Sprintf("IngestRatio/db=%s/c=%d/metric=server-cpu", db, c), sd, unitCPU, bl, unitCPU)
			t.row(db, strconv.Itoa(c),
				r.num(sd, unitReqs, 0), r.num(sd, unitP50, 2), r.num(sd, unitP99, 2), r.cpu(sd, unitCPU, unitDBCPU, 0), r.num(sd, unitErrors, 0),
				r.num(bl, unitReqs, 0), r.num(bl, unitP50, 2), r.num(bl, unitP99, 2), r.cpu(bl, unitCPU, unitDBCPU, 0), r.num(bl, unitErrors, 0),
				spread(rq), spread(p99), spread(cpu))
		}
	}
	t.print(fmt.Sprintf("Ingest: POST /v1/steps, %d requests per load after %d warm-up, median of %d runs; CPU is user+system time per request of the server process (and, after the slash, of mariadbd); ratios are stepsd ÷ baseline within each run (median, and range over the runs)", b.opts.requests, b.opts.warmup, b.opts.runs))

	// Seeding.
	t = newTable(w, "db", "rows", "seconds", "rows/s")
	for _, db := range dbs {
		from := 0
		for _, rows := range sizes {
			name := fmt.Sprintf("Seed/db=%s/rows=%d", db, rows)
			if ns, ok := r.figure(name, unitNsOp); ok {
				t.row(db, fmt.Sprintf("%s–%s", group(float64(from)), group(float64(rows))), fmt.Sprintf("%.2f", ns*float64(rows-from)/1e9), r.num(name, unitRows, 0))
			}
			from = rows
		}
	}
	t.print("Seeding: POST /v1/steps/batch, 10,000 steps per request, one request at a time (one run)")

	// Export.
	t = newTable(w, "db", "rows", "reader", "seconds", "rows/s", "MB/s", "MB", "peak RSS MiB", "CPU s", "rows/s ×mariadb")
	for _, db := range dbs {
		for _, rows := range sizes {
			client := fmt.Sprintf("Export/db=%s/rows=%d/format=mariadb-client", db, rows)
			for _, format := range []string{"csv", "ndjson", "mariadb-client"} {
				name := fmt.Sprintf("Export/db=%s/rows=%d/format=%s", db, rows, format)
				if _, ok := r.figure(name, unitNsOp); !ok {
					continue
				}
				reader, vs, rss := "stepsd "+format, "", r.num(name, unitRSS, 1)
				if format == "mariadb-client" {
					reader, rss = "mariadb --batch --quick", ""
				} else if f, ok := r.ratio(fmt.Sprintf("ExportRatio/db=%s/rows=%d/format=%s/metric=rows-per-s", db, rows, format), name, unitRows, client, unitRows); ok {
					vs = spread(f)
				}
				t.row(db, group(float64(rows)), reader, r.seconds(name), r.num(name, unitRows, 0), r.num(name, unitMBs, 1), r.mb(name), rss,
					r.cpuSeconds(name), vs)
			}
		}
	}
	t.print(fmt.Sprintf("Export: GET /v1/steps, whole body read, median of %d runs; peak RSS is stepsd's largest over the runs; CPU is stepsd's (and, after the slash, mariadbd's)", b.opts.runs))

	// Deployments and stats.
	t = newTable(w, "db", "rows", "request", "seconds", "MB", "peak RSS MiB", "CPU s")
	for _, db := range dbs {
		for _, rows := range []int{b.opts.rows, b.opts.historyRows} {
			for _, x := range []struct{ bench, path string }{{"Deployments", "GET /v1/deployments?format=ndjson"},
				{"Stats", "GET /v1/stats?bucket=week"}, {"Page", "GET /?since=" + seedStart.Format("2006-01-02")}} {
				name := fmt.Sprintf("%s/db=%s/rows=%d", x.bench, db, rows)
				if _, ok := r.figure(name, unitNsOp); ok {
					t.row(db, group(float64(rows)), x.path, r.seconds(name), r.mb(name), r.num(name, unitRSS, 1), r.cpuSeconds(name))
				}
			}
		}
	}
	t.print(fmt.Sprintf("Deployments and stats, median of %d runs; CPU is stepsd's (and, after the slash, mariadbd's)", b.opts.runs))

	// stepsctl.
	t = newTable(w, "db", "stepsctl record ms", "curl ms", "×curl")
	for _, db := range dbs {
		ctl := fmt.Sprintf("Record/db=%s/cmd=stepsctl", db)
		curl := fmt.Sprintf("Record/db=%s/cmd=curl", db)
		if _, ok := r.figure(ctl, unitWallMs); !ok {
			continue
		}
		f, _ := r.ratio(fmt.Sprintf("RecordRatio/db=%s/metric=wall", db), ctl, unitWallMs, curl, unitWallMs)
		t.row(db, r.num(ctl, unitWallMs, 1), r.num(curl, unitWallMs, 1), spread(f))
	}
	t.print(fmt.Sprintf("stepsctl record vs curl: one step, whole process on loopback, median of %d invocations each, median over %d runs", b.opts.cliRuns, b.opts.runs))

	b.goals()
	t = newTable(w, "goal", "measured", "met")
	for _, g := range r.Goals {
		met := "yes"
		if !g.Met {
			met = "**no**"
		}
		t.row(g.Goal, g.Measured, met)
	}
	t.print("Goals of issue 6 (ratios within the same run)")

	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\n### Failures\n\n")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "- %s\n", f)
		}
	}
}

// goals checks the goals of issue 6 against the figures measured.
func (b *bench) goals() {
	r := b.res
	ratios := map[string]Figure{}
	for _, f := range r.Ratios {
		ratios[f.Name] = f
	}
	add := func(goal, measured string, met bool) {
		r.Goals = append(r.Goals, Goal{Goal: goal, Measured: measured, Met: met})
	}
	const c = 32
	for _, db := range []string{dbMySQL, dbSQLite} {
		rq, ok := ratios[fmt.Sprintf("IngestRatio/db=%s/c=%d/metric=req-per-s", db, c)]
		if !ok {
			continue
		}
		sd := fmt.Sprintf("Ingest/db=%s/server=stepsd/c=%d", db, c)
		bl := fmt.Sprintf("Ingest/db=%s/server=baseline/c=%d", db, c)
		label := map[string]string{dbMySQL: "MariaDB", dbSQLite: "SQLite"}[db]
		add(fmt.Sprintf("ingest on %s at c=32: ≥ 0.9× the baseline's req/s", label),
			fmt.Sprintf("%s (%s vs %s req/s)", spread(rq), r.num(sd, unitReqs, 0), r.num(bl, unitReqs, 0)), rq.Value >= 0.9)
		if db == dbMySQL {
			p99 := ratios[fmt.Sprintf("IngestRatio/db=%s/c=%d/metric=p99", db, c)]
			add("ingest on MariaDB at c=32: p99 ≤ 1.5× the baseline's",
				fmt.Sprintf("%s (%s vs %s ms)", spread(p99), r.num(sd, unitP99, 2), r.num(bl, unitP99, 2)), p99.Value <= 1.5)
			add("stretch: ingest on MariaDB at c=32 above 1.0× the baseline (group commit)", spread(rq), rq.Value > 1.0)
		}
	}
	var locked, errs float64
	sqliteLoads := false
	for _, cc := range b.opts.concurrency {
		name := fmt.Sprintf("Ingest/db=%s/server=stepsd/c=%d", dbSQLite, cc)
		if v, ok := r.figure(name, unitLocked); ok {
			sqliteLoads = true
			locked += v
			e, _ := r.figure(name, unitErrors)
			errs += e
		}
	}
	if sqliteLoads {
		add("ingest on SQLite: zero \"database is locked\" errors (all loads)", fmt.Sprintf("%.0f locked, %.0f errors in all", locked, errs), locked == 0)
	}

	rows := b.opts.rows
	if f, ok := ratios[fmt.Sprintf("ExportRatio/db=%s/rows=%d/format=csv/metric=rows-per-s", dbMySQL, rows)]; ok {
		add(fmt.Sprintf("export of %s rows as CSV on MariaDB: ≥ 0.7× mariadb --batch --quick", group(float64(rows))),
			fmt.Sprintf("%s (%s vs %s rows/s)", spread(f), r.num(fmt.Sprintf("Export/db=%s/rows=%d/format=csv", dbMySQL, rows), unitRows, 0),
				r.num(fmt.Sprintf("Export/db=%s/rows=%d/format=mariadb-client", dbMySQL, rows), unitRows, 0)), f.Value >= 0.7)
	}
	var rssParts []string
	rssMet, rssAny := true, false
	for _, db := range b.opts.dbs {
		for _, n := range []int{b.opts.rowsSmall, rows} {
			if v, ok := r.figure(fmt.Sprintf("Export/db=%s/rows=%d/format=csv", db, n), unitRSS); ok && n > 0 {
				rssAny = true
				rssMet = rssMet && v < 64
				rssParts = append(rssParts, fmt.Sprintf("%s %s rows: %.1f", db, group(float64(n)), v))
			}
		}
	}
	if rssAny {
		add("export as CSV: stepsd's peak RSS < 64 MiB, flat in the row count", strings.Join(rssParts, "; ")+" MiB", rssMet)
	}
	for _, db := range b.opts.dbs {
		d := fmt.Sprintf("Deployments/db=%s/rows=%d", db, rows)
		s := fmt.Sprintf("Stats/db=%s/rows=%d", db, rows)
		dt, ok1 := r.figure(d, unitNsOp)
		st, ok2 := r.figure(s, unitNsOp)
		if !ok1 || !ok2 {
			continue
		}
		drss, _ := r.figure(d, unitRSS)
		srss, _ := r.figure(s, unitRSS)
		add(fmt.Sprintf("deployments and stats over %s steps on %s: < 2 s each, peak RSS < 128 MiB", group(float64(rows)), db),
			fmt.Sprintf("deployments %.2f s, %.1f MiB; stats %.2f s, %.1f MiB", dt/1e9, drss, st/1e9, srss),
			dt < 2e9 && st < 2e9 && drss < 128 && srss < 128)
	}
	for _, db := range b.opts.dbs {
		if f, ok := ratios[fmt.Sprintf("RecordRatio/db=%s/metric=wall", db)]; ok {
			add(fmt.Sprintf("stepsctl record wall time ≤ 2× curl's (%s)", db),
				fmt.Sprintf("%s (%s vs %s ms)", spread(f), r.num(fmt.Sprintf("Record/db=%s/cmd=stepsctl", db), unitWallMs, 1),
					r.num(fmt.Sprintf("Record/db=%s/cmd=curl", db), unitWallMs, 1)), f.Value <= 2)
		}
	}
}

// num formats the summary of name's unit, or "–" if not measured.
func (r *Results) num(name, unit string, decimals int) string {
	v, ok := r.figure(name, unit)
	if !ok {
		return "–"
	}
	if decimals == 0 {
		return group(v)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// cpu formats the server's CPU figure and, when measured, the database's
// after a slash: "68 / 121".
func (r *Results) cpu(name, serverUnit, dbUnit string, decimals int) string {
	s := r.num(name, serverUnit, decimals)
	if _, ok := r.figure(name, dbUnit); ok {
		s += " / " + r.num(name, dbUnit, decimals)
	}
	return s
}

// cpuSeconds formats the CPU seconds of a read: stepsd's, then the
// database's after a slash.
func (r *Results) cpuSeconds(name string) string {
	var parts []string
	for _, unit := range []string{unitCPUMs, unitDBCPUMs} {
		if v, ok := r.figure(name, unit); ok {
			parts = append(parts, strconv.FormatFloat(v/1000, 'f', 2, 64))
		} else if unit == unitCPUMs {
			parts = append(parts, "–")
		}
	}
	return strings.Join(parts, " / ")
}

func (r *Results) seconds(name string) string {
	v, ok := r.figure(name, unitNsOp)
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v/1e9, 'f', 3, 64)
}

func (r *Results) mb(name string) string {
	v, ok := r.figure(name, unitBytes)
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v/1e6, 'f', 1, 64)
}

// times formats a ratio: "0.93×".
func times(f Figure) string {
	if len(f.Values) == 0 || math.IsNaN(f.Value) {
		return "–"
	}
	return strconv.FormatFloat(f.Value, 'f', 2, 64) + "×"
}

// spread formats a ratio with its range over the runs: "0.93× (0.88–1.02)".
func spread(f Figure) string {
	if len(f.Values) < 2 {
		return times(f)
	}
	return fmt.Sprintf("%s (%.2f–%.2f)", times(f), slices.Min(f.Values), slices.Max(f.Values))
}

// group formats a whole number with thousands separators: 12,345.
func group(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// table is a Markdown table, aligned for reading in a terminal.
type table struct {
	w      io.Writer
	header []string
	rows   [][]string
}

func newTable(w io.Writer, header ...string) *table {
	return &table{w: w, header: header}
}

func (t *table) row(cells ...string) {
	t.rows = append(t.rows, cells)
}

// print writes the table under title; a table without rows is left out.
func (t *table) print(title string) {
	if len(t.rows) == 0 {
		return
	}
	fmt.Fprintf(t.w, "\n### %s\n\n", title)
	tw := tabwriter.NewWriter(t.w, 0, 0, 1, ' ', 0)
	line := func(cells []string) {
		for _, c := range cells {
			fmt.Fprintf(tw, "| %s\t", c)
		}
		fmt.Fprintln(tw, "|")
	}
	line(t.header)
	sep := make([]string, len(t.header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	tw.Flush()
}
