// Package history generates deploy histories for tests: a year of deploys
// whose durations grow week by week, and daily deploys made of given
// phases. It lives outside the test files so that the pkg/server tests and
// the browser test module (pkg/server/browsertest) seed the same histories.
package history

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// EnvSteps names the variable with which a measurement over the generated
// history (the page benchmark, the browser's page weight) asks for about
// that many steps.
const EnvSteps = "STEPS_UI_STEPS"

// Spec describes a generated deploy history: every component deploys
// PerDay times a day for Days days up to End, through build, tests (and
// migrate for api), rollout and finished. Durations grow week by week,
// tests fastest, so the page has a trend and a step to blame. One deploy in
// twenty fails; the last web deploy is still running and a worker deploy
// has been stuck for hours.
type Spec struct {
	End        time.Time
	Days       int
	PerDay     int
	Components []string
}

// Default is the one-year history of api, web and worker up to end.
func Default(end time.Time) Spec {
	return Spec{End: end, Days: 365, PerDay: 2, Components: []string{"api", "web", "worker"}}
}

// Scaled is the default history with about n steps: as many deploys a day
// as it takes (about 4.3 steps a deploy).
func Scaled(end time.Time, n int) Spec {
	h := Default(end)
	h.PerDay = max(1, int(math.Round(float64(n)/(4.34*float64(len(h.Components)*h.Days)))))
	return h
}

// Seed stores h in st and returns how many steps it wrote.
func Seed(t testing.TB, st *store.Store, h Spec) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	start := h.End.AddDate(0, 0, -h.Days).Truncate(24 * time.Hour)
	owners := []string{"ana", "bob", "chen", "dara"}
	base := map[string]float64{"build": 150, "tests": 240, "migrate": 45, "rollout": 90}
	growth := map[string]float64{"build": 0.004, "tests": 0.02, "migrate": 0.0, "rollout": 0.008} // per week
	var batch []model.StepInput
	total := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, _, err := st.CreateSteps(t.Context(), batch, model.RecordMeta{ReceivedAt: h.End}); err != nil {
			t.Fatalf("seed: %v", err)
		}
		total += len(batch)
		batch = batch[:0]
	}
	add := func(in model.StepInput) {
		batch = append(batch, in)
		if len(batch) == store.MaxBatch {
			flush()
		}
	}
	n := 0
	for day := 0; day < h.Days; day++ {
		for k := 0; k < h.PerDay; k++ {
			for ci, c := range h.Components {
				n++
				at := start.AddDate(0, 0, day).Add(7*time.Hour + time.Duration(k)*10*time.Hour/time.Duration(h.PerDay) +
					time.Duration(ci*17+rng.IntN(30))*time.Minute)
				if !at.Before(h.End.Add(-6 * time.Hour)) {
					continue
				}
				weeks := at.Sub(start).Hours() / (24 * 7)
				version := fmt.Sprintf("1.%d.%d", day, k)
				owner := owners[rng.IntN(len(owners))]
				steps := []string{"build", "tests", "rollout"}
				if c == "api" {
					steps = []string{"build", "tests", "migrate", "rollout"}
				}
				failed := n%20 == 0
				for i, s := range steps {
					add(model.StepInput{Component: c, Version: version, Owner: owner, Status: s, Environment: "production", Time: at})
					sec := base[s] * math.Pow(1+growth[s], weeks) * (0.8 + 0.4*rng.Float64())
					at = at.Add(time.Duration(sec * float64(time.Second)))
					if failed && i == 1 {
						break // the tests fail
					}
				}
				last := "finished"
				if failed {
					last = "failed"
				}
				add(model.StepInput{Component: c, Version: version, Owner: owner, Status: last, Environment: "production", Time: at})
			}
		}
	}
	// Still running, and stuck.
	add(model.StepInput{Component: "web", Version: "2.0.0", Owner: "ana", Status: "build", Environment: "production", Time: h.End.Add(-20 * time.Minute)})
	add(model.StepInput{Component: "web", Version: "2.0.0", Owner: "ana", Status: "tests", Environment: "production", Time: h.End.Add(-15 * time.Minute)})
	add(model.StepInput{Component: "worker", Version: "2.0.0-rc1", Owner: "bob", Status: "build", Environment: "production", Time: h.End.Add(-5 * time.Hour)})
	flush()
	return total
}

// Phase is one step of a generated deployment and how long it lasts.
type Phase struct {
	Status  string
	Seconds float64
}

// Daily is one deployment a day from start, n of them, each with the
// phases deploy(i) gives, ending in "finished"; owner "bot", version
// 1.i.0.
func Daily(component, env string, start time.Time, n int, deploy func(i int) []Phase) []model.StepInput {
	var out []model.StepInput
	for i := range n {
		at := start.Add(time.Duration(i) * 24 * time.Hour)
		version := fmt.Sprintf("1.%d.0", i)
		for _, p := range deploy(i) {
			out = append(out, model.StepInput{Component: component, Version: version, Owner: "bot", Status: p.Status, Environment: env, Time: at})
			at = at.Add(time.Duration(p.Seconds * float64(time.Second)))
		}
		out = append(out, model.StepInput{Component: component, Version: version, Owner: "bot", Status: "finished", Environment: env, Time: at})
	}
	return out
}

// Jump is a history whose tests step goes from 5 to 8 minutes at deploy
// 40, with a little deterministic noise.
func Jump(i int) []Phase {
	noise := 1 + 0.03*math.Sin(float64(i)*1.7)
	tests := 300.0
	if i >= 40 {
		tests = 480
	}
	return []Phase{{"build", 120 * noise}, {"tests", tests * noise}, {"rollout", 60 * noise}}
}
