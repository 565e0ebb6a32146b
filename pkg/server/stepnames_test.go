package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestManyStepNamesDoNotRefuseTheStats: stats give each step name a point
// per bucket, bounded at model.MaxStatsSeries points. One deployment of
// 2,000 step names, 35 weeks after another (one batch from anyone who may
// write, on an open server anyone), made the default GET /v1/stats (weeks
// over all history: 36 × 2,001 points) a 400 for every reader, and would
// have done the same to the page's default 13 weeks at 4,000 names. The
// slowest steps are now listed within the bound, and steps_not_listed
// counts the others.
func TestManyStepNamesDoNotRefuseTheStats(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		first := t0.AddDate(0, 0, -7*35)
		ins := []model.StepInput{
			{Component: "api", Version: "1", Owner: "o", Status: "build", Time: first},
			{Component: "api", Version: "1", Owner: "o", Status: "finished", Time: first.Add(time.Hour)},
		}
		const names = 2000
		at := t0.Add(-3 * time.Hour)
		for i := range names {
			// The first step is the slowest: it must be listed.
			ins = append(ins, model.StepInput{Component: "api", Version: "2", Owner: "o", Status: fmt.Sprintf("step %04d", i), Time: at})
			at = at.Add(time.Second)
			if i == 0 {
				at = at.Add(time.Hour)
			}
		}
		ins = append(ins, model.StepInput{Component: "api", Version: "2", Owner: "o", Status: "finished", Time: at})
		if _, _, err := ts.store.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}

		r := ts.do(t, "GET", "/v1/stats", nil)
		var st model.Stats
		if r.status != http.StatusOK {
			t.Fatalf("default stats = %d %s; want 200", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &st); err != nil {
			t.Fatal(err)
		}
		if points := len(st.Buckets) * (len(st.Steps) + 1); points > model.MaxStatsSeries {
			t.Errorf("%d buckets × (%d steps + 1) = %d points; want at most %d", len(st.Buckets), len(st.Steps), points, model.MaxStatsSeries)
		}
		if got := len(st.Steps) + st.StepsNotListed; got != names+1 {
			t.Errorf("%d steps listed + %d not = %d; want %d", len(st.Steps), st.StepsNotListed, got, names+1)
		}
		if st.StepsNotListed == 0 || len(st.Steps) == 0 || st.Steps[0].Status != "step 0000" || len(st.Steps[0].Buckets) != len(st.Buckets) {
			t.Errorf("%d steps listed, %d not, the first %+v; want the slowest, step 0000, with its buckets, and some left out", len(st.Steps), st.StepsNotListed, st.Steps[0].Status)
		}
		if r := ts.do(t, "GET", "/v1/stats?format=csv", nil); r.status != http.StatusOK {
			t.Errorf("stats as CSV = %d %.300s; want 200", r.status, r.body)
		}
		if r := ts.do(t, "GET", "/?since=", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "step 0000") {
			t.Errorf("the page over all history = %d %.300s; want 200 naming the slowest step", r.status, r.body)
		}
	})
}
