package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORASupersededAndRollbacksEndToEnd records, one step at a time, a
// run of api cancelled by a newer one (cancel-in-progress) and a failing
// deploy of web ended rolled-back and its change before deployed again,
// and reads the keys from the JSON and the page through the store's
// numbering: the cancelled run is superseded, not a change failure; the
// rollback restores web's failure in 5 minutes and is no deployment.
// Before, api read 2 of 3 deployments failed (one restored in a minute)
// and web 3 deployments with the rollback's day-old commit as a lead
// time.
func TestDORASupersededAndRollbacksEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		post := func(component, version, status string, at, committed time.Time) {
			t.Helper()
			q := "component=" + component + "&version=" + version + "&owner=dan&environment=production&status=" + status +
				"&time=" + at.Format(time.RFC3339) + "&committed_at=" + committed.Format(time.RFC3339)
			if r := ts.do(t, "POST", "/v1/steps?"+q, nil); r.status != 201 {
				t.Fatalf("POST %s: %d %s", q, r.status, r.body)
			}
		}
		post("api", "1.0", "build", doraDay(2, 9, 0), doraDay(2, 8, 0))
		post("api", "1.0", "finished", doraDay(2, 9, 10), doraDay(2, 8, 0))
		post("api", "1.1", "build", doraDay(3, 9, 0), doraDay(3, 8, 0)) // superseded by 1.2…
		post("api", "1.2", "build", doraDay(3, 9, 2), doraDay(3, 8, 30))
		post("api", "1.1", "cancelled", doraDay(3, 9, 3), doraDay(3, 8, 0)) // …cancelled once 1.2 runs
		post("api", "1.2", "finished", doraDay(3, 9, 12), doraDay(3, 8, 30))

		post("web", "2.0", "build", doraDay(2, 10, 0), doraDay(2, 9, 0))
		post("web", "2.0", "finished", doraDay(2, 10, 10), doraDay(2, 9, 0))
		post("web", "2.1", "build", doraDay(4, 10, 0), doraDay(4, 9, 0))
		post("web", "2.1", "rolled-back", doraDay(4, 10, 10), doraDay(4, 9, 0))
		post("web", "2.0", "build", doraDay(4, 10, 12), doraDay(2, 9, 0)) // the rollback
		post("web", "2.0", "finished", doraDay(4, 10, 15), doraDay(2, 9, 0))

		for _, c := range []struct {
			component                                           string
			deployments, failed, superseded, rollbacks, restore int
			lead                                                float64
		}{
			{"api", 2, 0, 1, 0, 0, 3360}, // lead times 70 and 42 minutes: their mean
			{"web", 2, 1, 0, 1, 300, 4200},
		} {
			query := "/v1/dora?component=" + c.component + "&environment=production&since=2026-11-02&until=2026-11-15"
			r := ts.do(t, "GET", query, nil)
			var got model.DORA
			if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
				t.Fatalf("GET %s: %d %v %s", query, r.status, err, r.body)
			}
			all := got.Overall
			restore := 0.0
			if all.TimeToRestoreP50Seconds != nil {
				restore = *all.TimeToRestoreP50Seconds
			}
			if all.Deployments != c.deployments || all.FailedDeployments != c.failed || all.SupersededDeployments != c.superseded ||
				all.Rollbacks != c.rollbacks || restore != float64(c.restore) || all.LeadTimeP50Seconds == nil || *all.LeadTimeP50Seconds != c.lead {
				t.Errorf("%s: %s", c.component, r.body)
				t.Errorf("%s: deployments %d, failed %d, superseded %d, rollbacks %d, restore p50 %v s; want %d, %d, %d, %d, %d s, lead p50 %v s",
					c.component, all.Deployments, all.FailedDeployments, all.SupersededDeployments, all.Rollbacks, restore,
					c.deployments, c.failed, c.superseded, c.rollbacks, c.restore, c.lead)
			}
		}
		p := getPage(t, nil, ts.URL, "/?environment=production&since=2026-11-02&until=2026-11-15&bucket=week")
		if want := "not deployments: 1 cancelled deployment superseded by a newer change, 1 rollback to a change deployed before"; !strings.Contains(p.body, want) {
			i := strings.Index(p.body, `id="dora"`)
			t.Errorf("the page lacks %s:\n%s", want, p.body[i:min(len(p.body), i+2500)])
		}
	})
}
