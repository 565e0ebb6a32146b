package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Sample is one measurement of one run, named as a Go benchmark (without
// the "Benchmark" prefix): "Ingest/db=mysql/server=stepsd/c=32".
type Sample struct {
	Name    string   `json:"name"`
	Run     int      `json:"run"`
	N       int      `json:"n"`
	Metrics []Metric `json:"metrics"`
}

// Metric is one figure of a sample, in a benchstat unit.
type Metric struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// Units of the samples.
const (
	unitNsOp    = "ns/op"
	unitReqs    = "req/s"
	unitRows    = "rows/s"
	unitMBs     = "MB/s"
	unitP50     = "p50-ms"
	unitP99     = "p99-ms"
	unitErrors  = "errors"
	unitLocked  = "locked-errors"
	unitRSS     = "peak-RSS-MiB"
	unitBytes   = "bytes"
	unitWallMs  = "wall-ms"
	unitRatio   = "x"
	unitCPU     = "server-cpu-us/op"
	unitDBCPU   = "db-cpu-us/op"
	unitCPUMs   = "server-cpu-ms"
	unitDBCPUMs = "db-cpu-ms"
)

// Figure is the summary of one metric over the runs (see summaryOf), or
// of one ratio: the median of its values, one a run.
type Figure struct {
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Value  float64   `json:"value"`
	Values []float64 `json:"values"`
}

// Goal is one goal of issue 6 and where the run lands.
type Goal struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Results are everything a run measured.
type Results struct {
	Date     string            `json:"date"`
	Seconds  float64           `json:"seconds"`
	Machine  map[string]string `json:"machine"`
	Settings map[string]any    `json:"settings"`
	Samples  []Sample          `json:"samples"`
	Summary  []Figure          `json:"summary"`
	Ratios   []Figure          `json:"ratios"`
	Goals    []Goal            `json:"goals"`
	Failures []string          `json:"failures,omitempty"`
}

func (r *Results) add(name string, run, n int, metrics ...Metric) {
	r.Samples = append(r.Samples, Sample{Name: name, Run: run, N: n, Metrics: metrics})
}

func (r *Results) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// byRun returns the values of name's unit, keyed by run.
func (r *Results) byRun(name, unit string) map[int]float64 {
	out := map[int]float64{}
	for _, s := range r.Samples {
		if s.Name != name {
			continue
		}
		for _, m := range s.Metrics {
			if m.Unit == unit {
				out[s.Run] = m.Value
			}
		}
	}
	return out
}

func sortedValues(m map[int]float64) []float64 {
	runs := make([]int, 0, len(m))
	for run := range m {
		runs = append(runs, run)
	}
	slices.Sort(runs)
	vs := make([]float64, len(runs))
	for i, run := range runs {
		vs[i] = m[run]
	}
	return vs
}

// summaryOf is name's unit over the runs: the median; for peak RSS, a
// limit, the largest; for error counts, the total.
func summaryOf(unit string, vs []float64) float64 {
	switch unit {
	case unitRSS:
		return slices.Max(vs)
	case unitErrors, unitLocked:
		var sum float64
		for _, v := range vs {
			sum += v
		}
		return sum
	}
	return median(vs)
}

// figure returns the summary of name's unit, and whether it was measured.
func (r *Results) figure(name, unit string) (float64, bool) {
	vs := sortedValues(r.byRun(name, unit))
	if len(vs) == 0 {
		return 0, false
	}
	return summaryOf(unit, vs), true
}

// ratio is the median over the runs of a÷b, each run's a divided by the
// same run's b; it is added to r.Ratios under name.
func (r *Results) ratio(name, aName, aUnit, bName, bUnit string) (Figure, bool) {
	a, b := r.byRun(aName, aUnit), r.byRun(bName, bUnit)
	runs := make([]int, 0, len(a))
	for run := range a {
		if bv, ok := b[run]; ok && bv != 0 {
			runs = append(runs, run)
		}
	}
	if len(runs) == 0 {
		return Figure{}, false
	}
	slices.Sort(runs)
	f := Figure{Name: name, Unit: unitRatio}
	for _, run := range runs {
		f.Values = append(f.Values, a[run]/b[run])
	}
	f.Value = median(f.Values)
	r.Ratios = append(r.Ratios, f)
	return f, true
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarise fills Summary from the samples.
func (r *Results) summarise() {
	type key struct{ name, unit string }
	seen := map[key]bool{}
	r.Summary = nil
	for _, s := range r.Samples {
		for _, m := range s.Metrics {
			k := key{s.Name, m.Unit}
			if seen[k] {
				continue
			}
			seen[k] = true
			vs := sortedValues(r.byRun(s.Name, m.Unit))
			r.Summary = append(r.Summary, Figure{Name: s.Name, Unit: m.Unit, Value: summaryOf(m.Unit, vs), Values: vs})
		}
	}
	sort.SliceStable(r.Summary, func(i, j int) bool { return r.Summary[i].Name < r.Summary[j].Name })
}

// writeJSON writes the results to path.
func (r *Results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeBenchstat writes one line per sample in the Go benchmark format, so
// that "benchstat old.txt new.txt" compares two commits.
func (r *Results) writeBenchstat(w io.Writer) error {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: " + r.Machine["goarch"] + "\npkg: github.com/steps-dev/steps/cmd/stepsbench\n")
	if cpu := r.Machine["cpu"]; cpu != "" {
		b.WriteString("cpu: " + cpu + "\n")
	}
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "Benchmark%s %d", s.Name, max(s.N, 1))
		for _, m := range s.Metrics {
			fmt.Fprintf(&b, " %s %s", formatBenchValue(m.Value), m.Unit)
		}
		b.WriteByte('\n')
	}
	for _, f := range r.Ratios {
		for _, v := range f.Values {
			fmt.Fprintf(&b, "Benchmark%s 1 %s %s\n", f.Name, formatBenchValue(v), f.Unit)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatBenchValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
