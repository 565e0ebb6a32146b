package model_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestDORARestoredFailures checks that restored_failures is the number of
// restore times the p50 and p90 come from, per bucket and overall, on a
// history with a known count of them: two failures in a row restored by
// one success (two restores), a retry (none), a failure restored the week
// after (its own week's), one never restored (none), and past the exact
// samples, in a sketch (1,100 in one week) and through the merging of a
// long run of failures (5,000 in a row, one success).
func TestDORARestoredFailures(t *testing.T) {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	dep := func(component, version string, start time.Time, outcome string) *model.Deployment {
		d := doraDep(component, start, start.Add(time.Minute), outcome, nil)
		d.Version = version
		return d
	}
	var history []*model.Deployment
	// Week of the 2nd: 3 restores.
	history = append(history,
		dep("api", "1.0", doraAt(2, 10, 0), F),
		dep("api", "1.1", doraAt(2, 11, 0), F),
		dep("api", "1.2", doraAt(2, 12, 0), S), // restores both
		dep("api", "1.3", doraAt(3, 10, 0), F), // retried, then deployed: no restore
		dep("api", "1.3", doraAt(3, 11, 0), S),
		dep("web", "2.0", doraAt(4, 10, 0), F),
		dep("web", "2.1", doraAt(4, 11, 0), S),
	)
	// Week of the 9th: 1 restore, on the 16th, and 1 failure never restored.
	history = append(history,
		dep("api", "1.4", doraAt(13, 10, 0), F),
		dep("api", "1.5", doraAt(16, 0, 0), S),
		dep("web", "2.2", doraAt(13, 10, 0), F),
	)
	// Week of the 16th: 1,100 restores, more than are kept exactly.
	for i := range 1100 {
		at := doraAt(16, 1, 0).Add(time.Duration(i) * 8 * time.Minute)
		history = append(history, dep("db", fmt.Sprintf("3.%d.0", i), at, F), dep("db", fmt.Sprintf("3.%d.1", i), at.Add(4*time.Minute), S))
	}
	opts := model.DORAOptions{Bucket: model.BucketWeek, Since: doraAt(2, 0, 0), Until: doraAt(23, 0, 0).Add(-time.Microsecond)}
	got := doraResult(t, opts, history)
	want := []int{3, 1, 1100}
	if len(got.Buckets) != len(want) {
		t.Fatalf("%d buckets, want %d", len(got.Buckets), len(want))
	}
	check := func(name string, f model.DORAFigures, want int) {
		t.Helper()
		if f.RestoredFailures != want {
			t.Errorf("%s: restored_failures %d, want %d", name, f.RestoredFailures, want)
		}
		// Every failed deployment is restored or not, never both.
		if f.RestoredFailures+f.UnrestoredFailures != f.FailedDeployments {
			t.Errorf("%s: %d restored + %d unrestored, want the %d failed", name, f.RestoredFailures, f.UnrestoredFailures, f.FailedDeployments)
		}
	}
	for i, b := range got.Buckets {
		check("week of "+b.Start.Format(time.DateOnly), b.DORAFigures, want[i])
	}
	check("overall", got.Overall.DORAFigures, 1104)

	// Beside unrestored_failures in JSON, and 0, not null, without a restore.
	raw, err := json.Marshal(doraResult(t, model.DORAOptions{Bucket: model.BucketWeek}, history[9:10]).Overall)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, `"unrestored_failures":1,"restored_failures":0,`) {
		t.Errorf("one unrestored failure as JSON: %s", s)
	}

	t.Run("failures in a row past the pending bound", func(t *testing.T) {
		var run []*model.Deployment
		for i := range 5000 {
			run = append(run, dep("api", fmt.Sprintf("4.%d", i), doraAt(2, 0, 0).Add(time.Duration(i)*time.Minute), F))
		}
		run = append(run, dep("api", "5.0", doraAt(6, 0, 0), S))
		got := doraResult(t, model.DORAOptions{Bucket: model.BucketWeek}, run)
		check("overall", got.Overall.DORAFigures, 5000)
		if len(got.Buckets) != 1 {
			t.Fatalf("%d buckets, want 1", len(got.Buckets))
		}
		check("week", got.Buckets[0].DORAFigures, 5000)
	})
}
