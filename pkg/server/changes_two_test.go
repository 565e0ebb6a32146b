package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestChangesFindsTwoShifts: a deploy of four steps (build 30 s, tests
// 60 s, migrate 60 s, rollout 30 s, 10 % noise a step), 120 deployments
// over 12 weeks, where migrate goes to 90 s at the 40th (+17 %) and tests
// to 120 s at the 80th (+29 %), posted with /v1/steps/batch: /v1/changes
// finds both, each naming its step. It found only the second, read +22 %
// with tests 124 % of it: the first shift, taken for growth within the
// segment before the second, was removed with it.
func TestChangesFindsTwoShifts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
		rng := rand.New(rand.NewPCG(3, 3))
		start := time.Date(2026, 9, 7, 10, 0, 0, 0, time.UTC)
		base := map[string]float64{"build": 30, "tests": 60, "migrate": 60, "rollout": 30}
		var rows []string
		for i := range 120 {
			switch i {
			case 40:
				base["migrate"] = 90
			case 80:
				base["tests"] = 120
			}
			at := start.Add(time.Duration(i) * 12 * 7 * 24 * time.Hour / 120).Add(time.Duration(rng.IntN(120)-60) * time.Minute)
			for _, s := range []string{"build", "tests", "migrate", "rollout", "finished"} {
				rows = append(rows, fmt.Sprintf(`{"component":"api","version":"2.%d.0","owner":"ana","status":%q,"environment":"production","time":%q}`,
					i, s, at.Format(time.RFC3339Nano)))
				at = at.Add(time.Duration(base[s] * math.Exp(0.1*rng.NormFloat64()) * float64(time.Second)))
			}
		}
		if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json"); r.status != 201 {
			t.Fatalf("batch = %d %.300s", r.status, r.body)
		}
		r := ts.do(t, "GET", "/v1/changes?component=api&environment=production", nil)
		var got model.Changes
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
			t.Fatalf("changes = %d %.300s", r.status, r.body)
		}
		want := []struct {
			at      int
			step    string
			percent float64
		}{{40, "migrate", 100 * 30 / 180.0}, {80, "tests", 100 * 60 / 210.0}}
		if len(got.Changes) != len(want) {
			t.Fatalf("%d changes, want 2: %+v", len(got.Changes), got.Changes)
		}
		for i, c := range got.Changes {
			var at int
			if _, err := fmt.Sscanf(c.Version, "2.%d.0", &at); err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(at-want[i].at)) > 3 || len(c.Steps) == 0 || c.Steps[0].Status != want[i].step {
				t.Errorf("change %d at deployment %d moving %+v first; want within 3 of %d, %s first", i, at, c.Steps, want[i].at, want[i].step)
			}
			if math.Abs(c.ChangePercent-want[i].percent) > 8 {
				t.Errorf("change %d: %+.1f %%, want %+.1f %% ± 8", i, c.ChangePercent, want[i].percent)
			}
		}
	})
}
