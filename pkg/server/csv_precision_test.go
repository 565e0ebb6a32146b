package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestCSVFiguresCarryTheirPrecision: the stats, changes and DORA keys as
// CSV give percentages to the hundredth and deploys a day to 3 digits,
// where they gave 17 ("growth_percent_per_week 2.166983369890363" of a
// rate known to ±0.4 points), and still say what the JSON says: each
// figure is the JSON's, rounded. The history: 120 deploys over 24 weeks
// growing 1 % a week, tests twice as long from the 70th, 6 failed.
func TestCSVFiguresCarryTheirPrecision(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
		rng := rand.New(rand.NewPCG(5, 5))
		start := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
		var rows []string
		for i := range 126 {
			at := start.Add(time.Duration(i) * 24 * 7 * 24 * time.Hour / 126).Add(time.Duration(rng.IntN(120)-60) * time.Minute)
			grow := math.Pow(1.01, float64(i)*24/126)
			base := map[string]float64{"build": 60, "tests": 120, "rollout": 60}
			if i >= 70 {
				base["tests"] = 240
			}
			last := "finished"
			if i%21 == 20 {
				last = "failed"
			}
			for _, s := range []string{"build", "tests", "rollout", last} {
				rows = append(rows, fmt.Sprintf(`{"component":"api","version":"3.%d.0","owner":"ana","status":%q,"environment":"production","time":%q}`,
					i, s, at.Format(time.RFC3339Nano)))
				at = at.Add(time.Duration(base[s] * grow * math.Exp(0.1*rng.NormFloat64()) * float64(time.Second)))
			}
		}
		if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json"); r.status != 201 {
			t.Fatalf("batch = %d %.300s", r.status, r.body)
		}
		read := func(path string, v any) [][]string {
			t.Helper()
			r := ts.do(t, "GET", path+"&format=json", nil)
			if err := json.Unmarshal(r.body, v); err != nil || r.status != 200 {
				t.Fatalf("%s = %d %.300s", path, r.status, r.body)
			}
			r = ts.do(t, "GET", path+"&format=csv", nil)
			recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil || r.status != 200 {
				t.Fatalf("%s as CSV = %d %v %.300s", path, r.status, err, r.body)
			}
			return recs
		}
		// check says that cell is want to the hundredth (or to 3 digits
		// below 1, a rate a day), with no more digits than that.
		check := func(what, cell string, want float64, perDay bool) {
			t.Helper()
			got, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				t.Errorf("%s = %q: %v", what, cell, err)
				return
			}
			decimals := 2
			if perDay && math.Abs(want) < 1 && want != 0 {
				decimals = 2 - int(math.Floor(math.Log10(math.Abs(want))))
			}
			if _, frac, ok := strings.Cut(cell, "."); ok && len(frac) > decimals {
				t.Errorf("%s = %s: %d decimals, want %d at most (JSON %v)", what, cell, len(frac), decimals, want)
			}
			if math.Abs(got-want) > 0.5*math.Pow(10, -float64(decimals))+1e-9 {
				t.Errorf("%s = %s, want the JSON's %v rounded", what, cell, want)
			}
		}

		var st model.Stats
		recs := read("/v1/stats?component=api&environment=production", &st)
		if st.Trend.Direction != "growing" || len(st.Steps) != 3 {
			t.Fatalf("stats: trend %+v, %d steps", st.Trend, len(st.Steps))
		}
		steps := map[string]model.StepStats{}
		for _, s := range st.Steps {
			steps[s.Status] = s
		}
		col := func(name string) int {
			for i, h := range recs[0] {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s in %v", name, recs[0])
			return -1
		}
		trend := map[string]float64{
			"growth_percent_per_week":        st.Trend.GrowthPercentPerWeek,
			"growth_percent_per_week_low":    st.Trend.GrowthPercentPerWeekLow,
			"growth_percent_per_week_high":   st.Trend.GrowthPercentPerWeekHigh,
			"growth_percent_per_sprint":      st.Trend.GrowthPercentPerSprint,
			"slope_percent_of_mean_per_week": st.Trend.SlopePercentOfMeanPerWeek,
		}
		seen := 0
		for _, rec := range recs[1:] {
			switch rec[0] {
			case "step":
				s := steps[rec[1]]
				check("step "+rec[1]+" share_percent", rec[col("share_percent")], s.SharePercent, false)
				check("step "+rec[1]+" growth_percent_per_week", rec[col("growth_percent_per_week")], s.Trend.GrowthPercentPerWeek, false)
				check("step "+rec[1]+" growth_percent_per_week_low", rec[col("growth_percent_per_week_low")], s.Trend.GrowthPercentPerWeekLow, false)
				check("step "+rec[1]+" growth_percent_per_week_high", rec[col("growth_percent_per_week_high")], s.Trend.GrowthPercentPerWeekHigh, false)
				if s.ShareOfGrowthPercent != nil {
					check("step "+rec[1]+" share_of_growth_percent", rec[col("share_of_growth_percent")], *s.ShareOfGrowthPercent, false)
				}
				seen++
			case "trend":
				if want, ok := trend[rec[1]]; ok {
					check("trend "+rec[1], rec[col("value")], want, false)
					seen++
				}
			}
		}
		if seen != 3+len(trend) {
			t.Errorf("stats CSV: %d step and trend figures checked, want %d", seen, 3+len(trend))
		}

		var cs model.Changes
		recs = read("/v1/changes?component=api&environment=production", &cs)
		if len(cs.Changes) != 1 || len(recs) != 1+len(cs.Changes[0].Steps) {
			t.Fatalf("changes: %+v; CSV %d rows", cs.Changes, len(recs))
		}
		for i, rec := range recs[1:] {
			check("change_percent", rec[7], cs.Changes[0].ChangePercent, false)
			check("step_share_of_change_percent", rec[13], cs.Changes[0].Steps[i].ShareOfChangePercent, false)
		}

		var d model.DORA
		recs = read("/v1/dora?component=api&environment=production", &d)
		o, last := d.Overall.DORAFigures, recs[len(recs)-1]
		if last[0] != "overall" || o.ChangeFailureRatePercent == nil || *o.ChangeFailureRatePercent == 0 {
			t.Fatalf("dora: overall %+v; CSV %v", o, last)
		}
		check("deployment_frequency_per_day", last[5], *o.DeploymentFrequencyPerDay, true)
		check("change_failure_rate_percent", last[6], *o.ChangeFailureRatePercent, false)
		check("lead_time_coverage_percent", last[12], *o.LeadTimeCoveragePercent, false)
		check("change_failure_rate_low_percent", last[19], *o.ChangeFailureRateLowPercent, false)
		check("change_failure_rate_high_percent", last[20], *o.ChangeFailureRateHighPercent, false)
	})
}
