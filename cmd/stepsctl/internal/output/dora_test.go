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
