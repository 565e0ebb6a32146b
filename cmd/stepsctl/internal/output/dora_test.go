package output_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

// TestWriteDORASparklineBounded checks that a long range draws the latest
// buckets only, and says so, rather than a line a thousand cells wide.
func TestWriteDORASparklineBounded(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 100)
	d := model.DORA{Overall: model.DORAOverall{Start: &start, End: &end}}
	for i := range 100 {
		v := float64(i % 7)
		d.Buckets = append(d.Buckets, model.DORABucket{Start: start.AddDate(0, 0, i), End: start.AddDate(0, 0, i+1),
			DORAFigures: model.DORAFigures{DeploymentFrequencyPerDay: &v}})
	}
	var buf bytes.Buffer
	if err := output.WriteDORA(&buf, model.BucketDay, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasSuffix(lines[2], "BY DAY, LAST 60") {
		t.Errorf("header %q, want BY DAY, LAST 60", lines[2])
	}
	fields := strings.Fields(lines[3])
	if spark := fields[len(fields)-1]; utf8.RuneCountInString(spark) != 60 {
		t.Errorf("sparkline of %d cells, want 60: %q", utf8.RuneCountInString(spark), spark)
	}
}

// TestWriteDORASparklineStartsAtZero: a line with no figure per bucket
// beside it is drawn from 0, so that a dip of 7 % does not read as a
// collapse (from the lowest value it drew █▁).
func TestWriteDORASparklineStartsAtZero(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 2, 0)
	d := model.DORA{Overall: model.DORAOverall{Start: &start, End: &end}}
	for i, v := range []float64{0.74, 0.69} {
		d.Buckets = append(d.Buckets, model.DORABucket{Start: start.AddDate(0, i, 0), End: start.AddDate(0, i+1, 0),
			DORAFigures: model.DORAFigures{DeploymentFrequencyPerDay: &v}})
	}
	var buf bytes.Buffer
	if err := output.WriteDORA(&buf, model.BucketMonth, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	fields := strings.Fields(lines[3])
	if spark := fields[len(fields)-1]; spark != "██" {
		t.Errorf("sparkline %q, want ██ (0.74 and 0.69 from 0)", spark)
	}
}

// TestWriteDORASaysWhatIsNotCounted checks the note under the keys on the
// retried attempts and redeployments left out of the deployments, and
// that there is none when there are none.
func TestWriteDORASaysWhatIsNotCounted(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 7)
	for _, c := range []struct {
		retried, redeployed int
		want                string
	}{
		{0, 0, ""},
		{3, 1, "Not deployments: 3 failed attempts retried with the same version, 1 redeployment of the version just deployed."},
		{1, 0, "Not deployments: 1 failed attempt retried with the same version."},
		{0, 2, "Not deployments: 2 redeployments of the version just deployed."},
	} {
		d := model.DORA{Overall: model.DORAOverall{Start: &start, End: &end,
			DORAFigures: model.DORAFigures{Deployments: 4, RetriedFailures: c.retried, Redeployments: c.redeployed}}}
		var buf bytes.Buffer
		if err := output.WriteDORA(&buf, model.BucketWeek, d); err != nil {
			t.Fatal(err)
		}
		got := buf.String()
		if c.want == "" && strings.Contains(got, "Not deployments") || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("retried %d, redeployed %d:\n%s\nwant %q", c.retried, c.redeployed, got, c.want)
		}
	}
}

// TestWriteDORASaysWhatIsLeftOut checks the note on the early deployments
// a period without since left out, and that there is none when none was.
func TestWriteDORASaysWhatIsLeftOut(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 7)
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "1 early deployment left out, isolated from the rest by a long gap: ask with --since to count them."},
		{3, "3 early deployments left out, isolated from the rest by a long gap: ask with --since to count them."},
	} {
		d := model.DORA{Overall: model.DORAOverall{Start: &start, End: &end, LeftOutEarlyDeployments: c.n,
			DORAFigures: model.DORAFigures{Deployments: 5}}}
		d.Buckets = []model.DORABucket{{Start: start, End: end, DORAFigures: d.Overall.DORAFigures}}
		var buf bytes.Buffer
		if err := output.WriteDORA(&buf, model.BucketWeek, d); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); c.want == "" && strings.Contains(got, "left out") || !strings.Contains(got, c.want) {
			t.Errorf("%d left out: got\n%s\nwant a note %q", c.n, got, c.want)
		}
	}
}

// A component deployed by a matrix job has its deployments in the legs
// alone: its environment's keys, none, say where they are, with or
// without deployments of their own.
func TestWriteDORANamesTheMatrixLegs(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 7)
	want := "Matrix legs of this environment are environments of their own, which these keys do not count: " +
		"production (eu-west-1), production (us-east-1); ask for each by its name (--env 'production (eu-west-1)')."
	for _, n := range []int{0, 5} {
		d := model.DORA{Overall: model.DORAOverall{Start: &start, End: &end, DORAFigures: model.DORAFigures{Deployments: n}},
			LegEnvironments: []string{"production (eu-west-1)", "production (us-east-1)"}}
		if n > 0 {
			d.Buckets = []model.DORABucket{{Start: start, End: end, DORAFigures: d.Overall.DORAFigures}}
		}
		var buf bytes.Buffer
		if err := output.WriteDORA(&buf, model.BucketWeek, d); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); !strings.Contains(got, want) {
			t.Errorf("%d deployments: got\n%s\nwant a note %q", n, got, want)
		}
	}
}
