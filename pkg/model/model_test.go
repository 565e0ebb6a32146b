package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// TestParseTimeNamesTheLostPlus: an RFC 3339 time with a positive offset,
// typed into a URL unescaped, arrives with a space for its "+"; the error
// says so, while other bad times get the plain list of formats.
func TestParseTimeNamesTheLostPlus(t *testing.T) {
	for _, lost := range []string{"2026-03-04T07:06:07 02:00", "2026-03-04T07:06:07.5 02:00", "2026-03-04 14:06:07  09:00"} {
		if _, _, err := model.ParseTime(lost); err == nil || !strings.Contains(err.Error(), "%2B") || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseTime(%q) error = %v, want one that says to write + as %%2B", lost, err)
		}
	}
	for _, bad := range []string{"yesterday", "2026-03-04 25:00:00", "2026-03-04T07:06:07 99:00", "2026-03-04 07:06:07"} {
		if _, _, err := model.ParseTime(bad); err != nil && strings.Contains(err.Error(), "%2B") {
			t.Errorf("ParseTime(%q) error = %v, which speaks of a lost + it never had", bad, err)
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
// request for weeks is not told to use weeks; it names the parameters as
// name= and lists them for a client to translate.
func TestStatsTooManyBucketsAdvisesOnlyLargerBuckets(t *testing.T) {
	d := 90.0
	deploy := func(at time.Time) *model.Deployment {
		return &model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: at, DurationSeconds: d,
			Steps: []model.Phase{{Status: "build", Time: at, DurationSeconds: &d}, {Status: "finished", Time: at.Add(90 * time.Second)}}}
	}
	for _, tt := range []struct {
		bucket     string
		sprintDays int
		every      int    // days between deployments: one a bucket
		advice     string // "" for none
	}{
		{model.BucketDay, 0, 1, "use a larger bucket (bucket=week, bucket=month or bucket=sprint)"},
		{model.BucketWeek, 0, 7, "use a larger bucket (bucket=month or bucket=sprint)"},
		{model.BucketWeek, 7, 7, "use a larger bucket (bucket=month)"},
		{model.BucketSprint, 14, 14, "use a larger bucket (bucket=month)"},
		{model.BucketSprint, 2, 2, "use a larger bucket (bucket=month)"},
	} {
		opts := model.StatsOptions{Bucket: tt.bucket, SprintDays: tt.sprintDays}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		start := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range model.MaxStatsBuckets + 1 {
			acc.Add(deploy(start.AddDate(0, 0, i*tt.every)))
		}
		err := acc.CheckSize()
		if err == nil {
			t.Fatalf("%s of %d days: no error for %d buckets with deployments", tt.bucket, tt.sprintDays, model.MaxStatsBuckets+1)
		}
		msg := model.ErrorMessage(err)
		if !strings.Contains(msg, "narrow the range with since= and until=") || !strings.HasSuffix(msg, tt.advice) {
			t.Errorf("%s of %d days: %q, want it to end with %q", tt.bucket, tt.sprintDays, msg, tt.advice)
		}
		var me *model.Error
		if !errors.As(err, &me) || me.Field != "bucket" || !slices.Equal(me.Params, []string{"since", "until", "bucket"}) {
			t.Errorf("%s: error %+v, want field bucket and params since, until, bucket", tt.bucket, me)
		}
	}
}

// TestStatsFromNineteenSeventy: one deployment back-dated to 1970 does not
// make the whole history too many buckets: the long run of empty ones is
// one bucket (Gap), and the buckets still tile the range.
func TestStatsFromNineteenSeventy(t *testing.T) {
	d := 90.0
	deploy := func(at time.Time) *model.Deployment {
		return &model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: at, DurationSeconds: d,
			Steps: []model.Phase{{Status: "build", Time: at, DurationSeconds: &d}, {Status: "finished", Time: at.Add(90 * time.Second)}}}
	}
	for _, bucket := range []string{model.BucketDay, model.BucketWeek, model.BucketMonth, model.BucketSprint} {
		opts := model.StatsOptions{Bucket: bucket}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		acc.Add(deploy(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)))
		// Two years of deploys every other day, and a pause of a week.
		start := time.Date(2024, 11, 4, 9, 0, 0, 0, time.UTC)
		for i := 0; i < 365; i++ {
			if i < 100 || i > 103 {
				acc.Add(deploy(start.AddDate(0, 0, 2*i)))
			}
		}
		if err := acc.CheckSize(); err != nil {
			t.Fatalf("%s: %v", bucket, err)
		}
		st := acc.Result()
		if len(st.Buckets) > model.MaxStatsBuckets {
			t.Fatalf("%s: %d buckets", bucket, len(st.Buckets))
		}
		gaps, counted := 0, 0
		for i, b := range st.Buckets {
			counted += b.Count
			if b.Gap > 0 {
				gaps++
				if b.Count != 0 {
					t.Errorf("%s: a gap of %d buckets holds %d deployments", bucket, b.Gap, b.Count)
				}
			}
			if i > 0 && !b.Start.Equal(st.Buckets[i-1].End) {
				t.Errorf("%s: bucket %d starts at %s, the one before ends at %s", bucket, i, b.Start, st.Buckets[i-1].End)
			}
		}
		if counted != st.Deployments || st.Buckets[0].Count != 1 {
			t.Errorf("%s: %d counted of %d; first %+v", bucket, counted, st.Deployments, st.Buckets[0])
		}
		switch bucket {
		case model.BucketMonth:
			// 1970 to 2026 is 683 months: within the bound, all shown.
			if gaps != 0 || len(st.Buckets) != 683 {
				t.Errorf("month: %d gaps in %d buckets, want none in 683", gaps, len(st.Buckets))
			}
		default:
			// Only the longest run is collapsed: the week's pause, and for
			// days the day between two deploys, stay empty buckets.
			if gaps != 1 || st.Buckets[1].Gap == 0 {
				t.Errorf("%s: %d gaps, want the one from 1970", bucket, gaps)
			}
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

// TestValidateTextASCII holds ValidateText's fast path for printable ASCII
// to what the Unicode tables say of each character: a control character
// refused, a space blank, any other one accepted.
func TestValidateTextASCII(t *testing.T) {
	for r := rune(0); r < 0x80; r++ {
		err := model.ValidateText("f", string(r), 1, true)
		switch {
		case r < 0x20 || r == 0x7f:
			if err == nil || !strings.Contains(err.Error(), "control characters") {
				t.Errorf("%U: err = %v, want control characters refused", r, err)
			}
		case r == ' ':
			if err == nil || !strings.Contains(err.Error(), "blank") {
				t.Errorf("%U: err = %v, want blank refused", r, err)
			}
		case err != nil:
			t.Errorf("%U: %v", r, err)
		}
		if err := model.ValidateText("f", "a"+string(r)+"é", 2, true); (r >= 0x20 && r < 0x7f) != (err != nil && strings.Contains(err.Error(), "3 characters long")) {
			t.Errorf("%U counted wrong: %v", r, err)
		}
	}
}

// TestAdviceIn: the parameters an error's advice names are rewritten,
// values kept, other words and names not listed left alone.
func TestAdviceIn(t *testing.T) {
	e := &model.Error{Params: []string{"since", "bucket"},
		Message: "x since y: narrow with since= and until=, or a larger bucket (bucket=week or bucket=sprint_2); nosince= stays"}
	got := e.AdviceIn(func(p string) string { return map[string]string{"since": "--since", "bucket": "--by"}[p] })
	want := "x since y: narrow with --since and until=, or a larger bucket (--by week or --by sprint_2); nosince= stays"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestStepTimeBoundsAdvice: a time out of bounds says what omitting it
// does, and that differs: an omitted step time is the receipt time, an
// omitted commit time is none.
func TestStepTimeBoundsAdvice(t *testing.T) {
	old := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	in := validInput()
	in.Time = old
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "time must be between") || !strings.Contains(err.Error(), "receipt time") {
		t.Errorf("time 1960: %v", err)
	}
	in = validInput()
	in.CommittedAt = old
	err := in.Validate()
	if err == nil || !strings.Contains(err.Error(), "committed_at must be between") || strings.Contains(err.Error(), "receipt time") {
		t.Errorf("committed_at 1960: %v; want the bounds, without the receipt time", err)
	}
	if model.ErrorCode(err) != model.EINVALID {
		t.Errorf("committed_at 1960: code %q", model.ErrorCode(err))
	}
}

// TestBatchErrorMessage: the count agrees with its verb, one row or many.
func TestBatchErrorMessage(t *testing.T) {
	var one model.BatchError
	one.Add(model.RowError{Row: 3, Field: "status", Error: "status is required"})
	if got, want := one.Error(), "one of the batch's rows is invalid and nothing was stored: row 3: status is required"; got != want {
		t.Errorf("one row: %q, want %q", got, want)
	}
	var two model.BatchError
	two.Add(model.RowError{Row: 2, Field: "status", Error: "status is required"})
	two.Add(model.RowError{Row: 5, Field: "owner", Error: "owner is required"})
	if got, want := two.Error(), "2 of the batch's rows are invalid and nothing was stored; first: row 2: status is required"; got != want {
		t.Errorf("two rows: %q, want %q", got, want)
	}
}

func TestShortRevision(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"9f1c2e7":      "9f1c2e7",
		"9f1c2e7d4b3a": "9f1c2e7d4b3a",
		"9F1C2E7D4B3A5C6D7E8F9A0B1C2D3E4F5A6B7C8D": "9F1C2E7D4B3A",
		"9f1c2e7d4b3a5c6d7e8f9a0b1c2d3e4f5a6b7c8d": "9f1c2e7d4b3a",
		"v1.2.3":                         "v1.2.3",
		"release-2026-11-27-build-4711":  "release-2026-11-27-…",
		"déploiement-numéro-vingt-trois": "déploiement-numéro-…",
	} {
		if got := model.ShortRevision(in); got != want {
			t.Errorf("ShortRevision(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuoteCutsLongValues(t *testing.T) {
	x64 := strings.Repeat("x", model.MaxQuoted)
	e64 := strings.Repeat("é", model.MaxQuoted)
	for _, tt := range []struct{ in, quote, short string }{
		{"soon", `"soon"`, "soon"},
		{x64, strconv.Quote(x64), x64},
		{x64 + "y", strconv.Quote(x64) + "… (65 characters)", x64 + "…"},
		// Characters, not bytes: 64 two-byte ones are kept whole.
		{e64, strconv.Quote(e64), e64},
		{e64 + "é", strconv.Quote(e64) + "… (65 characters)", e64 + "…"},
		{x64 + "\xff", strconv.Quote(x64) + "… (65 characters)", x64 + "…"},
	} {
		if got := model.Quote(tt.in); got != tt.quote {
			t.Errorf("Quote(%.20q…) = %q, want %q", tt.in, got, tt.quote)
		}
		if got := model.Shorten(tt.in); got != tt.short {
			t.Errorf("Shorten(%.20q…) = %q, want %q", tt.in, got, tt.short)
		}
	}
}

// TestParseTimeOffsetWithoutColon: an offset written +hhmm or -hhmm, as
// git (%ci) and date +%z print it, names the same instant as +hh:mm.
func TestParseTimeOffsetWithoutColon(t *testing.T) {
	want := time.Date(2026, 11, 30, 4, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-30T10:00:00+0530", want},
		{"2026-11-30T10:00:00+05:30", want},
		{"2026-11-30T04:30:00Z", want},
		{"2026-11-29T23:30:00-0500", want},
		{"2026-11-30T10:00:00.25+0530", want.Add(250 * time.Millisecond)},
		{"2026-11-30 10:00:00 +0530", want}, // git log --format=%ci
		{"2026-11-30 10:00:00 +05:30", want},
		{"2026-11-30 04:30:00 +0000", want},
		{"2026-11-29 23:30:00 -0500", want},
	} {
		got, day, err := model.ParseTime(tt.in)
		if err != nil || day || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v, %v; want %v", tt.in, got, day, err, tt.want)
		}
	}
	for _, bad := range []string{"2026-11-30T10:00:00+053", "2026-11-30T10:00:00+05", "2026-11-30T10:00:00+05:3", "2026-11-30T10:00:00+2500", "2026-11-30T10:00:00 0530x"} {
		if _, _, err := model.ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) took it", bad)
		}
	}
	// Its + lost in a query string is named as the colon form's is.
	if _, _, err := model.ParseTime("2026-11-30T10:00:00 0530"); err == nil || !strings.Contains(err.Error(), "%2B") {
		t.Errorf("ParseTime with a lost + before 0530: %v, want the %%2B advice", err)
	}
}

// TestFittingSinceKeepsTheLatestThatFit: for histories of too many
// buckets with deployments (daily, every other day, irregular gaps, a
// 1970 deployment in front), the start FittingSince gives keeps the newest
// deployments, is itself a bucket with one, and what starts there passes
// CheckSize while filling all but at most three of the MaxStatsBuckets
// buckets (two are kept spare for DORA's end): no more history is left
// out than the bound asks.
func TestFittingSinceKeepsTheLatestThatFit(t *testing.T) {
	d := 90.0
	deploy := func(at time.Time) *model.Deployment {
		return &model.Deployment{Outcome: model.OutcomeSuccess, StartedAt: at, DurationSeconds: d,
			Steps: []model.Phase{{Status: "build", Time: at, DurationSeconds: &d}, {Status: "finished", Time: at.Add(90 * time.Second)}}}
	}
	start := time.Date(2019, 3, 4, 9, 0, 0, 0, time.UTC)
	var irregular []time.Time
	for i, day := 0, 0; i < 1800; i++ {
		irregular = append(irregular, start.AddDate(0, 0, day))
		day += 1 + (i*7)%5 // gaps of 0 to 4 empty days
	}
	every := func(n, days int) []time.Time {
		var out []time.Time
		for i := range n {
			out = append(out, start.AddDate(0, 0, i*days))
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		bucket string
		times  []time.Time
	}{
		{"daily, 1500 days", model.BucketDay, every(1500, 1)},
		{"every other day, 1200", model.BucketDay, every(1200, 2)},
		{"irregular", model.BucketDay, irregular},
		{"weekly from 1970", model.BucketWeek, append([]time.Time{time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)}, every(1100, 7)...)},
	} {
		opts := model.StatsOptions{Bucket: tt.bucket}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		from := func(since time.Time) (*model.StatsAccumulator, int) {
			acc := model.NewStatsAccumulator(opts)
			n := 0
			for _, at := range tt.times {
				if !at.Before(since) {
					acc.Add(deploy(at))
					n++
				}
			}
			return acc, n
		}
		all, _ := from(time.Time{})
		if all.CheckSize() == nil {
			t.Fatalf("%s: the whole history fits; the case tests nothing", tt.name)
		}
		since := all.FittingSince()
		kept, n := from(since)
		if err := kept.CheckSize(); err != nil {
			t.Errorf("%s: from %s: %v", tt.name, since.Format(time.DateOnly), err)
		}
		if !slices.ContainsFunc(tt.times, func(at time.Time) bool { return !at.Before(since) && at.Before(since.AddDate(0, 0, 1)) }) {
			t.Errorf("%s: %s is no day with a deployment", tt.name, since.Format(time.DateOnly))
		}
		// Something was left out, and what was kept fills the bound but
		// for the spare buckets.
		i := slices.IndexFunc(tt.times, func(at time.Time) bool { return !at.Before(since) })
		if i == 0 {
			t.Fatalf("%s: everything kept", tt.name)
		}
		res := kept.Result()
		cost := len(res.Buckets)
		if cost < model.MaxStatsBuckets-3 {
			t.Errorf("%s: kept %d deployments in %d buckets from %s; want nearly %d buckets", tt.name, n, cost, since.Format(time.DateOnly), model.MaxStatsBuckets)
		}
		if res.Buckets[len(res.Buckets)-1].End.Before(tt.times[len(tt.times)-1]) {
			t.Errorf("%s: the newest deployment is not kept", tt.name)
		}
	}
}

// TestParseTimeRFC3339Variants: RFC 3339 (section 5.6) lets a space stand
// for the "T" and lets "T" and "Z" be lower case; Python's str() of an
// aware datetime writes "2026-11-30 04:30:00+00:00". Each names the
// instant its "T" form names. An offset of hours alone (PostgreSQL's
// "+00") is no RFC 3339, and stays refused.
func TestParseTimeRFC3339Variants(t *testing.T) {
	want := time.Date(2026, 11, 30, 4, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-30 04:30:00+00:00", want},
		{"2026-11-30 10:00:00+05:30", want},
		{"2026-11-29 23:30:00-05:00", want},
		{"2026-11-30 04:30:00.123456+00:00", want.Add(123456 * time.Microsecond)},
		{"2026-11-30 04:30:00Z", want},
		{"2026-11-30 10:00:00+0530", want},
		{"2026-11-30t04:30:00z", want},
		{"2026-11-30t10:00:00+05:30", want},
		{"2026-11-30 04:30:00z", want},
	} {
		got, day, err := model.ParseTime(tt.in)
		if err != nil || day || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v, %v; want %v", tt.in, got, day, err, tt.want)
		}
	}
	for _, bad := range []string{"2026-11-30 04:30:00+05", "2026-11-30 04:30:00+5:30", "2026-11-30 04:30:00x"} {
		if _, _, err := model.ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) took it", bad)
		}
	}
	// Its "+" lost in a query string is named, as the "T" form's is.
	for _, lost := range []string{"2026-11-30 10:00:00 05:30", "2026-11-30 10:00:00 0530"} {
		if _, _, err := model.ParseTime(lost); err == nil || !strings.Contains(err.Error(), "%2B") {
			t.Errorf("ParseTime(%q): %v, want the %%2B advice", lost, err)
		}
	}
}
