package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestPageChartOfOneDeploymentSaysOne reads the chart's words of a range
// with one deployment in one week: "1 week", "1 deployment", not "1
// weeks" and "1 deployments" in what a screen reader says.
func TestPageChartOfOneDeploymentSaysOne(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for i, s := range []string{"build", "finished"} {
		ts.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		ts.mustPost(t, "component=api&version=1&owner=o&environment=production&status="+s)
	}
	ts.clock.Set(t0.Add(time.Hour))
	p := getPage(t, nil, ts.URL, "/?since=2026-03-02")
	for _, want := range []string{"Deploy duration per week, 1 week from 2026-03-02", "Week of 2026-03-02: 1 deployment, p50 10m00s"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	for _, bad := range []string{"1 weeks", "1 deployments"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("the chart says %q", bad)
		}
	}
}
