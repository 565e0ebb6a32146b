package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func validInput() model.StepInput {
	return model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "build"}
}

func TestStepInputValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*model.StepInput)
		wantField string // "" means valid
	}{
		{"valid", func(*model.StepInput) {}, ""},
		{"environment is optional", func(in *model.StepInput) { in.Environment = "" }, ""},
		{"unicode counts characters not bytes", func(in *model.StepInput) { in.Owner = strings.Repeat("é", 128) }, ""},
		{"component required", func(in *model.StepInput) { in.Component = "" }, "component"},
		{"version required", func(in *model.StepInput) { in.Version = "" }, "version"},
		{"owner required", func(in *model.StepInput) { in.Owner = "" }, "owner"},
		{"status required", func(in *model.StepInput) { in.Status = "" }, "status"},
		{"blank component", func(in *model.StepInput) { in.Component = "   " }, "component"},
		{"blank environment", func(in *model.StepInput) { in.Environment = " " }, "environment"},
		{"component too long", func(in *model.StepInput) { in.Component = strings.Repeat("a", 129) }, "component"},
		{"status too long", func(in *model.StepInput) { in.Status = strings.Repeat("a", 65) }, "status"},
		{"environment too long", func(in *model.StepInput) { in.Environment = strings.Repeat("a", 65) }, "environment"},
		{"invalid UTF-8", func(in *model.StepInput) { in.Version = "v\xff1" }, "version"},
		{"newline", func(in *model.StepInput) { in.Owner = "ana\n" }, "owner"},
		{"NUL", func(in *model.StepInput) { in.Status = "ok\x00" }, "status"},
		{"C1 control", func(in *model.StepInput) { in.Component = "api\u0085" }, "component"},
		{"time before 1970", func(in *model.StepInput) { in.Time = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			err := in.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var me *model.Error
			if !errors.As(err, &me) {
				t.Fatalf("Validate() = %v, want *model.Error", err)
			}
			if me.Code != model.EINVALID || me.Field != tt.wantField {
				t.Errorf("got code %q field %q, want %q %q (%s)", me.Code, me.Field, model.EINVALID, tt.wantField, me.Message)
			}
			if !strings.Contains(me.Message, tt.wantField) {
				t.Errorf("message %q does not name %q", me.Message, tt.wantField)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		dayOnly bool
	}{
		{"2026-03-04 05:06:07", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), false},
		{"2026-03-04 05:06:07.123456", time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC), false},
		{"2026-03-04", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), true},
		{"2026-03-04T05:06:07Z", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), false},
		{"2026-03-04T07:06:07+02:00", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), false},
		{"2026-03-04T05:06:07.1234567Z", time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC), false},
		// As stepsctl's tables show it (TerminalTime).
		{"2026-03-04 14:06:07 +09:00", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), false},
		{"2026-03-04 00:06:07 -05:00", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), false},
	}
	for _, tt := range tests {
		got, day, err := model.ParseTime(tt.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC || day != tt.dayOnly {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tt.in, got, day, tt.want, tt.dayOnly)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "04/03/2026", "2026-03-04 25:00:00", "1700000000"} {
		if _, _, err := model.ParseTime(bad); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseTime(%q) error = %v, want one listing the accepted formats", bad, err)
		}
	}
}

func TestParseUntilDateMeansWholeDay(t *testing.T) {
	got, err := model.ParseUntil("until", "2026-03-04")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 4, 23, 59, 59, 999999000, time.UTC)
	if !got.Equal(want) {
		t.Errorf("ParseUntil = %v, want %v", got, want)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := model.Cursor{Time: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), ID: 42}
	got, err := model.ParseCursor(c.String())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(c.Time) || got.ID != c.ID {
		t.Errorf("round trip = %#v, want %#v", *got, c)
	}
	for _, bad := range []string{"x", "!!", "MTIz", "YS5i"} {
		if _, err := model.ParseCursor(bad); model.ErrorCode(err) != model.EINVALID {
			t.Errorf("ParseCursor(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestNeutraliseCellRoundTrip(t *testing.T) {
	for _, v := range []string{"=1+1", "+x", "-rc1", "@SUM(A1)", "'quoted", "''=x", "plain", "", "'"} {
		n := model.NeutraliseCell(v)
		if n != "" && strings.ContainsAny(n[:1], "=+-@") {
			t.Errorf("NeutraliseCell(%q) = %q still starts a formula", v, n)
		}
		if back := model.UnneutraliseCell(n); back != v {
			t.Errorf("UnneutraliseCell(NeutraliseCell(%q)) = %q", v, back)
		}
	}
}

func TestFingerprintIgnoresTimeZone(t *testing.T) {
	a := validInput()
	a.Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := a
	b.Time = a.Time.In(time.FixedZone("X", 7200))
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("same instant in two zones fingerprints differently")
	}
	b.Status = "tests"
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("different status, same fingerprint")
	}
}

func TestPhaseDurationsAreExactInMicroseconds(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 6, 10, 228328000, time.UTC)
	var got *model.Deployment
	b := model.NewDeploymentBuilder(model.DefaultDeploymentRules(), t0, func(d *model.Deployment) error { got = d; return nil })
	for i, at := range []time.Time{t0, t0.Add(24681889 * time.Microsecond)} {
		status := []string{"migrate", "finished"}[i]
		if err := b.Add(model.DeploymentStep{Step: model.Step{ID: int64(i + 1), Component: "api", Version: "1", Status: status, Time: at}}); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil || *got.Steps[0].DurationSeconds != 24.681889 || got.DurationSeconds != 24.681889 {
		t.Fatalf("durations %+v", got)
	}
}

func TestStatsSkipDeploymentsWithoutADuration(t *testing.T) {
	opts := model.StatsOptions{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	acc.Add(&model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: t0, Steps: []model.Phase{{Status: "finished", Time: t0}}})
	d := 90.0
	acc.Add(&model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: t0, DurationSeconds: 90,
		Steps: []model.Phase{{Status: "build", Time: t0, DurationSeconds: &d}, {Status: "finished", Time: t0.Add(90 * time.Second)}}})
	st := acc.Result()
	if st.Deployments != 1 || *st.Buckets[0].P50Seconds != 90 {
		t.Errorf("deployments %d, p50 %v; want 1 and 90 (the lone terminal step not counted)", st.Deployments, *st.Buckets[0].P50Seconds)
	}
}

// TestStatsAreTheSameEveryTime: the same deployments give the same figures
// to the last digit, whatever order Go walks its maps in.
func TestStatsAreTheSameEveryTime(t *testing.T) {
	opts := model.StatsOptions{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var phases []model.Phase
	at := t0
	for i := range 40 {
		// Durations whose sum depends on the order of addition.
		d := 0.1 + float64(i)*1e-7 + float64(i%3)*1e6
		phases = append(phases, model.Phase{Status: fmt.Sprintf("step-%02d", i), Time: at, DurationSeconds: &d})
		at = at.Add(time.Duration(d * float64(time.Second)))
	}
	phases = append(phases, model.Phase{Status: "finished", Time: at})
	acc.Add(&model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: t0, DurationSeconds: at.Sub(t0).Seconds(), Steps: phases})
	figures := func() string {
		b, err := json.Marshal(acc.Result())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first := figures()
	for range 50 {
		if again := figures(); again != first {
			t.Fatalf("the same stats differ between two calls:\n%s\n%s", first, again)
		}
	}
}

// TestStatsTooManyBucketsAdvisesOnlyLargerBuckets: the advice of a
// refused range names only buckets larger than the one asked for, so a
// request for weeks is not told to use weeks.
func TestStatsTooManyBucketsAdvisesOnlyLargerBuckets(t *testing.T) {
	d := 90.0
	deploy := func(at time.Time) *model.Deployment {
		return &model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: at, DurationSeconds: d,
			Steps: []model.Phase{{Status: "build", Time: at, DurationSeconds: &d}, {Status: "finished", Time: at.Add(90 * time.Second)}}}
	}
	for _, tt := range []struct {
		bucket     string
		sprintDays int
		advice     string // "" for none
	}{
		{model.BucketDay, 0, "use a larger bucket (week, month or sprint)"},
		{model.BucketWeek, 0, "use a larger bucket (month or sprint)"},
		{model.BucketWeek, 7, "use a larger bucket (month)"},
		{model.BucketSprint, 14, "use a larger bucket (month)"},
		{model.BucketSprint, 2, "use a larger bucket (month)"},
	} {
		opts := model.StatsOptions{Bucket: tt.bucket, SprintDays: tt.sprintDays}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		acc.Add(deploy(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)))
		acc.Add(deploy(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)))
		err := acc.CheckSize()
		if err == nil {
			t.Fatalf("%s of %d days: no error for 1970 to 2026", tt.bucket, tt.sprintDays)
		}
		msg := model.ErrorMessage(err)
		if !strings.Contains(msg, "narrow the range with since and until") || !strings.HasSuffix(msg, tt.advice) {
			t.Errorf("%s of %d days: %q, want it to end with %q", tt.bucket, tt.sprintDays, msg, tt.advice)
		}
	}
}

// TestStatsFiguresAreToTheMicrosecond: durations are stored to the
// microsecond, and so are their percentiles and means, without the float
// noise of interpolation (474.84142099999997) in JSON and CSV.
func TestStatsFiguresAreToTheMicrosecond(t *testing.T) {
	opts := model.StatsOptions{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for i, sec := range []float64{471.173175, 489.404537, 478.509667, 469.120011} {
		at := t0.Add(time.Duration(i) * time.Hour)
		d := sec
		acc.Add(&model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: at, DurationSeconds: d,
			Steps: []model.Phase{{Status: "build", Time: at, DurationSeconds: &d}, {Status: "finished", Time: at.Add(time.Duration(d * float64(time.Second)))}}})
	}
	st := acc.Result()
	b := st.Buckets[0]
	for name, v := range map[string]float64{"p50": *b.P50Seconds, "p90": *b.P90Seconds, "mean": *b.MeanSeconds, "step p50": *st.Steps[0].P50Seconds} {
		if s := strconv.FormatFloat(v, 'f', -1, 64); len(s) > len("471.173175") {
			t.Errorf("%s = %s: more digits than microseconds", name, s)
		}
	}
	if got, want := *b.P50Seconds, 474.841421; got != want {
		t.Errorf("p50 = %v, want %v", got, want)
	}
}
