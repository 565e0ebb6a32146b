package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestDeploymentsAtOneInstantAndSkew keeps docs/api.md's Deployments
// section true, on SQLite and MariaDB. Steps are placed by time, so a
// terminal step whose time is before a step recorded earlier (a clock
// behind) ends the deployment there, whatever order they arrive in, and
// the later step starts the next attempt. Steps of one instant are
// placed by id, the order they were stored in: a finished then a build at
// the same microsecond end one deployment and start the next, a build
// then a finished do not.
func TestDeploymentsAtOneInstantAndSkew(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		history := func(steps ...string) string {
			ts := newTestServer(t, fresh(t))
			ts.clock.Set(t0.Add(time.Hour))
			for _, s := range steps {
				status, minute, _ := strings.Cut(s, "@")
				var m int
				fmt.Sscan(minute, &m)
				body := fmt.Sprintf(`{"component":"api","version":"1.0","owner":"ana","status":%q,"environment":"production","time":%q}`,
					status, t0.Add(time.Duration(m)*time.Minute).Format(time.RFC3339Nano))
				if r := ts.do(t, "POST", "/v1/steps", strings.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
					t.Fatalf("%s: %d %s", s, r.status, r.body)
				}
			}
			r := ts.do(t, "GET", "/v1/deployments?format=csv", nil)
			var out []string
			for _, line := range strings.Split(strings.TrimSpace(string(r.body)), "\n")[1:] {
				cells := strings.Split(line, ",")
				out = append(out, cells[3]+":"+cells[8]+":"+cells[10]) // attempt, outcome, steps
			}
			return strings.Join(out, " | ")
		}
		for _, c := range []struct {
			name  string
			steps []string
			want  string
		}{
			{"finished then build at one instant", []string{"build@0", "finished@5", "build@5"},
				"1:success:build=300;finished | 2:in_progress:build"},
			{"build then finished at one instant", []string{"build@0", "build@5", "finished@5"},
				"1:success:build=300;build=0;finished"},
			{"a terminal step from a clock behind, sent last", []string{"build@0", "tests@3", "finished@2"},
				"1:success:build=120;finished | 2:in_progress:tests"},
			{"the same steps in time order", []string{"build@0", "finished@2", "tests@3"},
				"1:success:build=120;finished | 2:in_progress:tests"},
		} {
			if got := history(c.steps...); got != c.want {
				t.Errorf("%s (%v): deployments %s, want %s", c.name, c.steps, got, c.want)
			}
		}
	})
}
