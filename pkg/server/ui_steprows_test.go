package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSlowestStepsTableListsTheSlowestTwenty records a pipeline that names
// a step after each run (job-0, job-1, …), as CI jobs with ids do: as
// many step names as deployments. The page listed every one, each with
// its sparkline (3,000 deployments made a 2.8 MB page that took Chromium
// 15 s); it lists the slowest 20 and says what the others weigh, which
// GET /v1/stats lists.
func TestSlowestStepsTableListsTheSlowestTwenty(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	const n = 60
	var rows []string
	for i := range n {
		at := t0.Add(-time.Duration(n-i) * time.Hour)
		for _, s := range []struct {
			status string
			after  time.Duration
		}{{"build", 0}, {fmt.Sprintf("job-%d", i), time.Minute}, {"finished", time.Minute + time.Duration(10+i)*time.Second}} {
			rows = append(rows, fmt.Sprintf(`{"component":"ci","version":"%d","owner":"o","status":%q,"environment":"prod","time":%q}`,
				i, s.status, at.Add(s.after).Format(time.RFC3339)))
		}
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json"); r.status != 201 {
		t.Fatalf("batch = %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/v1/stats?since=2026-02-01", nil)
	var st model.Stats
	if err := json.Unmarshal(r.body, &st); err != nil || len(st.Steps) != n+1 {
		t.Fatalf("GET /v1/stats = %d, %d steps, want %d listed", r.status, len(st.Steps), n+1)
	}
	p := getPage(t, nil, ts.URL, "/?since=2026-02-01")
	steps := p.body[strings.Index(p.body, `id="steps-title"`):strings.Index(p.body, `id="recent-title"`)]
	if got := strings.Count(steps, `<th scope="row">`); got != 20 {
		t.Errorf("the slowest-steps table has %d rows, want 20", got)
	}
	// The 20 listed: build, then the slowest jobs (the latest, longest).
	for _, want := range []string{"> build", "> job-59", "> job-41"} {
		if !strings.Contains(steps, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	if strings.Contains(steps, "> job-40<") {
		t.Error("the table lists job-40, the 21st slowest")
	}
	var share float64
	for _, s := range st.Steps[20:] {
		share += s.SharePercent
	}
	want := fmt.Sprintf("41 more step names are not listed here, %.1f %% of deploy time together (none more than %.1f %%); GET /v1/stats lists every one.",
		model.PrintRound(share, 1), model.PrintRound(st.Steps[20].SharePercent, 1))
	if !strings.Contains(steps, want) {
		i := strings.Index(steps, `id="steps-note"`)
		t.Errorf("want the note %q, got %.300s", want, steps[max(i, 0):])
	}
}
