package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestChangeSharesOfPartTimeSteps: a step that runs in a part of the
// deployments carries that part of the change. Rollout named after the
// host it ran on (rollout-host1 to 3, one a deploy), each 240 s slower
// from the 40th of 80 deploys, read 103 %, 99 % and 88 % of the change,
// 290 % together, as if each had moved every deploy; a step new at the
// change (scan) still carries all of its seconds.
func TestChangeSharesOfPartTimeSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 7))
	noise := func(s float64) float64 { return s * (1 + 0.05*rng.NormFloat64()) }
	var hosts, scan, many []*model.Deployment
	// 6,000 deploys a few hours apart, in time order: past 2,048 a series
	// is kept as runs of deployments, a host in nearly every run.
	for i := range 6000 {
		rollout := 150.0
		if i >= 3000 {
			rollout += 240
		}
		many = append(many, synth.Deployment("hosty", fmt.Sprintf("4.%d.0", i), "production",
			accuracyStart.Add(time.Duration(i)*3*time.Hour), []string{"build", "test", fmt.Sprintf("rollout-host%d", 1+i%3)},
			[]float64{noise(200), noise(250), noise(rollout)}))
	}
	for i := range 80 {
		at := accuracyStart.AddDate(0, 0, 2*i).Add(9 * time.Hour)
		v := fmt.Sprintf("3.%d.0", i)
		rollout := 150.0
		if i >= 40 {
			rollout += 240
		}
		hosts = append(hosts, synth.Deployment("hosty", v, "production", at,
			[]string{"build", "test", fmt.Sprintf("rollout-host%d", 1+i%3)}, []float64{noise(200), noise(250), noise(rollout)}))
		names, secs := []string{"build", "test"}, []float64{noise(200), noise(250)}
		if i >= 40 {
			names, secs = append(names, "scan"), append(secs, noise(240))
		}
		scan = append(scan, synth.Deployment("scanny", v, "production", at,
			append(names, "rollout"), append(secs, noise(150))))
	}
	for _, c := range []struct {
		name   string
		ds     []*model.Deployment
		at     string
		moved  []string // the steps that carry the change, each its part of it
		shares []float64
	}{
		{"hosts", hosts, "3.40.0", []string{"rollout-host1", "rollout-host2", "rollout-host3"}, []float64{100.0 / 3, 100.0 / 3, 100.0 / 3}},
		{"hosts, a long history", many, "4.3000.0", []string{"rollout-host1", "rollout-host2", "rollout-host3"}, []float64{100.0 / 3, 100.0 / 3, 100.0 / 3}},
		{"new step", scan, "3.40.0", []string{"scan"}, []float64{100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := changes(t, c.ds)
			if len(cs) != 1 || cs[0].Version != c.at {
				t.Fatalf("changes %+v, want one at %s", cs, c.at)
			}
			sum := 0.0
			for _, s := range cs[0].Steps {
				sum += s.ShareOfChangePercent
			}
			if math.Abs(sum-100) > 15 {
				t.Errorf("shares of the change sum to %.0f %%, want about 100 %%: %+v", sum, cs[0].Steps)
			}
			for i, name := range c.moved {
				for _, s := range cs[0].Steps {
					if s.Status == name && math.Abs(s.ShareOfChangePercent-c.shares[i]) > 12 {
						t.Errorf("%s: %.0f %% of the change (%+.0f s where it ran), want about %.0f %%", name, s.ShareOfChangePercent, s.ChangeSeconds, c.shares[i])
					}
				}
			}
			for i := 1; i < len(cs[0].Steps); i++ {
				if cs[0].Steps[i].ShareOfChangePercent > cs[0].Steps[i-1].ShareOfChangePercent {
					t.Errorf("steps %+v: not the largest share of the change first", cs[0].Steps)
				}
			}
		})
	}
}
