package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestChangeOfExactDurations: deploys whose durations are exactly equal
// on each side of a change (a scripted pipeline timed to the second) make
// the plainest change there is. The step fit that first removes the
// growth read its residuals, 0 give or take rounding, as no clear step,
// and took the doubling of build for 25 % a week of growth: detrended by
// it, the change was gone (24 deployments, 12 a side: no change).
func TestChangeOfExactDurations(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ n, at int }{{24, 12}, {17, 8}, {20, 12}, {40, 20}} {
		t.Run(fmt.Sprintf("%d deployments, the change at %d", tc.n, tc.at), func(t *testing.T) {
			var ds []*model.Deployment
			for i := range tc.n {
				build := 60.0
				if i >= tc.at {
					build = 120
				}
				ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.0.%d", i), "production",
					start.Add(time.Duration(i)*24*time.Hour), []string{"build", "tests"}, []float64{build, 30}))
			}
			cs := changes(t, ds)
			if len(cs) != 1 {
				t.Fatalf("%d changes %+v, want 1: 90 s to 150 s at 1.0.%d", len(cs), cs, tc.at)
			}
			if c := cs[0]; c.Version != fmt.Sprintf("1.0.%d", tc.at) || c.BeforeP50Seconds != 90 || c.AfterP50Seconds != 150 {
				t.Errorf("change at %s, %g s to %g s; want at 1.0.%d, 90 s to 150 s", c.Version, c.BeforeP50Seconds, c.AfterP50Seconds, tc.at)
			}
		})
	}
}
