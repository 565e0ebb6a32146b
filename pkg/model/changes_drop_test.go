package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestChangeNamesTheStepThatDropped: at a speed-up the step that moved
// is the one that shrank, first in steps and named by the words of
// stepsctl and the page. Ordered by change_seconds, largest first, it
// came last: tests going from 300 s to 60 s (-41 % a deploy) read
// "rollout +2.7s (-1 %)", the one step that barely moved the other way.
func TestChangeNamesTheStepThatDropped(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after float64
	}{
		{"drop", 300, 60},
		{"rise", 60, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ds []*model.Deployment
			for i := range 80 {
				tests := c.before
				if i >= 40 {
					tests = c.after
				}
				// Noise of a few seconds, rollout a little up and build a
				// little down at the change, so neither moves zero.
				wobble := float64(i%7) - 3
				build, rollout := 200+wobble, 100-wobble
				if i >= 40 {
					build, rollout = build-10, rollout+3
				}
				ds = append(ds, synth.Deployment("fast", fmt.Sprintf("7.%d.0", i), "production",
					accuracyStart.AddDate(0, 0, 2*i).Add(9*time.Hour), []string{"build", "tests", "rollout"},
					[]float64{build, tests + 2*wobble, rollout}))
			}
			cs := changes(t, ds)
			if len(cs) != 1 || cs[0].Version != "7.40.0" {
				t.Fatalf("changes %+v, want one at 7.40.0", cs)
			}
			moved := model.MovedSteps(cs[0])
			if len(moved) == 0 || moved[0].Status != "tests" || moved[0].ShareOfChangePercent < 90 {
				t.Errorf("steps %+v named %+v, want tests first, with about all of the change", cs[0].Steps, moved)
			}
			for i := 1; i < len(cs[0].Steps); i++ {
				if cs[0].Steps[i].ShareOfChangePercent > cs[0].Steps[i-1].ShareOfChangePercent {
					t.Errorf("steps %+v: not the largest move the change's way first", cs[0].Steps)
				}
			}
		})
	}
}
