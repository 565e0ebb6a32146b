package output_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

func ptr(v float64) *float64 { return &v }

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		v, top  float64
		unicode bool
		want    string
	}{
		{10, 10, true, "██████████"},
		{5, 10, true, "█████"},
		{5.5, 10, true, "█████▌"},
		{1, 80, true, "▏"},      // a sliver, not nothing
		{0.001, 10, false, "#"}, // a sliver too
		{7, 10, false, "#######"},
		{0, 10, true, ""},
		{12, 10, true, "██████████"}, // never past the width
	} {
		if got := output.Bar(tc.v, tc.top, 10, tc.unicode); got != tc.want {
			t.Errorf("Bar(%v, %v, unicode %v) = %q, want %q", tc.v, tc.top, tc.unicode, got, tc.want)
		}
	}
}

func TestSparkline(t *testing.T) {
	b := func(p50 *float64) model.BucketStats {
		return model.BucketStats{Durations: model.Durations{P50Seconds: p50}}
	}
	if got := output.Sparkline([]model.BucketStats{b(ptr(10)), b(ptr(20)), b(nil), b(ptr(80))}); got != "▁▂ █" {
		t.Errorf("Sparkline = %q", got)
	}
	if got := output.Sparkline([]model.BucketStats{b(ptr(5)), b(ptr(5))}); got != "▅▅" {
		t.Errorf("flat Sparkline = %q", got)
	}
	// Nothing at all (no deployment a day) is drawn as the lowest, not as
	// a flat line of activity.
	if got := output.SparklineOf([]*float64{ptr(0), ptr(0), nil}); got != "▁▁ " {
		t.Errorf("zero Sparkline = %q", got)
	}
}

func TestPhases(t *testing.T) {
	d := model.Deployment{Outcome: model.OutcomeInProgress, Steps: []model.Phase{
		{Status: "build", Time: t0, DurationSeconds: ptr(62)},
		{Status: "tests", Time: t0.Add(62 * time.Second), DurationSeconds: ptr(4.25)},
		{Status: "rollout", Time: t0.Add(66250 * time.Millisecond)},
	}}
	if got, want := output.Phases(d, t0.Add(10*time.Minute)), "build 1m02s › tests 4.2s › rollout 8m54s…"; got != want {
		t.Errorf("Phases = %q, want %q", got, want)
	}
	d.Outcome = model.OutcomeSuccess
	d.Steps[2].Status = "finished"
	if got, want := output.Phases(d, t0), "build 1m02s › tests 4.2s › finished"; got != want {
		t.Errorf("Phases = %q, want %q", got, want)
	}
	idle := model.Deployment{Outcome: model.OutcomeSuccess, Steps: []model.Phase{
		{Status: "build", Time: t0, DurationSeconds: ptr(120)},
		{Status: "build-done", Time: t0.Add(2 * time.Minute), DurationSeconds: ptr(30), Idle: true},
		{Status: "finished", Time: t0.Add(150 * time.Second)},
	}}
	if got, want := output.Phases(idle, t0), "build 2m00s › idle 30s › finished"; got != want {
		t.Errorf("Phases = %q, want %q (a wait after build-done is idle)", got, want)
	}
	if got := output.Outcome(model.Deployment{Outcome: model.OutcomeInProgress, Stuck: true}); got != "in progress, stuck" {
		t.Errorf("Outcome = %q", got)
	}
}

func TestTrendLine(t *testing.T) {
	st := model.Stats{Trend: model.Trend{RobustTrend: model.RobustTrend{Method: "theil-sen", Points: 88, Outliers: 7}},
		Outliers: []model.OutlierRef{
			{Component: "api", Version: "0.0.1", Attempt: 1, DurationSeconds: 1.4},
			{Component: "api", Version: "1.2.0", Attempt: 2, DurationSeconds: 14400},
		}}
	want := "Robust fit (theil-sen) over 88 deployments; left out as outliers: api 0.0.1 (1.4s), api 1.2.0 (attempt 2) (4h00m) and 5 more."
	if got := output.TrendLine(st); got != want {
		t.Errorf("TrendLine = %q\nwant         %q", got, want)
	}
	if got := output.TrendLine(model.Stats{}); got != "" {
		t.Errorf("without a robust fit: %q", got)
	}
}

// A step with too few phases for a fit says so; "+0.0% (flat)" would read
// as a step measured not to grow.
func TestStepGrowthWithTooFewPhases(t *testing.T) {
	v := 300.0
	d := model.Durations{Count: 2, P50Seconds: &v, P90Seconds: &v, MaxSeconds: &v, MeanSeconds: &v}
	bucket := model.BucketStats{Start: t0, End: t0.Add(7 * 24 * time.Hour), Durations: d}
	st := model.Stats{Bucket: "week", Outcome: "success", Deployments: 2, Buckets: []model.BucketStats{bucket},
		Trend: model.Trend{RobustTrend: model.RobustTrend{Method: "theil-sen", Direction: model.DirectionFlat, Points: 2}},
		Steps: []model.StepStats{
			{Status: "build", Durations: d, TotalSeconds: 600, SharePercent: 100,
				Trend: model.RobustTrend{Method: "theil-sen", Direction: model.DirectionFlat, Points: 2}},
		}}
	var out strings.Builder
	if err := output.WriteStats(&out, output.Options{Terminal: true}, st, output.StatsNotes{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "(flat)") || !strings.Contains(out.String(), "too few") {
		t.Errorf("a step of 2 phases shows a growth:\n%s", out.String())
	}
}

// TestStepsNotListedAreCounted: past the server's points bound, stats list
// the slowest steps only (steps_not_listed); the table counts the others
// and does not claim that -o json lists them all.
func TestStepsNotListedAreCounted(t *testing.T) {
	v := 300.0
	d := model.Durations{Count: 2, P50Seconds: &v, P90Seconds: &v, MaxSeconds: &v, MeanSeconds: &v}
	bucket := model.BucketStats{Start: t0, End: t0.Add(7 * 24 * time.Hour), Durations: d}
	st := model.Stats{Bucket: "week", Outcome: "success", Deployments: 2, Buckets: []model.BucketStats{bucket},
		StepsNotListed: 1950}
	for i := range 49 {
		st.Steps = append(st.Steps, model.StepStats{Status: "step" + strconv.Itoa(i), Durations: d, TotalSeconds: 600})
	}
	var out strings.Builder
	if err := output.WriteStats(&out, output.Options{}, st, output.StatsNotes{}); err != nil {
		t.Fatal(err)
	}
	if want := "… and 1989 more step(s); -o json lists the 49 slowest."; !strings.Contains(out.String(), want) {
		t.Errorf("got:\n%s\nwant it to contain %q", out.String(), want)
	}
	st.StepsNotListed = 0
	out.Reset()
	if err := output.WriteStats(&out, output.Options{}, st, output.StatsNotes{}); err != nil {
		t.Fatal(err)
	}
	if want := "… and 39 more step(s); -o json lists them all."; !strings.Contains(out.String(), want) {
		t.Errorf("got:\n%s\nwant it to contain %q", out.String(), want)
	}
}
