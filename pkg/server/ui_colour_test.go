package server_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestTimelineColoursAreTheDashboards: a step's bar on a deployment's
// timeline has the colour the dashboard gives that step, which goes by
// the steps' share of deploy time (tests, then rollout, then build), not
// by their order in the deployment.
func TestTimelineColoursAreTheDashboards(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	at := time.Duration(0)
	for _, s := range []struct {
		status string
		after  time.Duration
	}{{"build", 0}, {"tests", time.Minute}, {"rollout", 10 * time.Minute}, {"finished", 5 * time.Minute}} {
		at += s.after
		ts.clock.Set(t0.Add(at))
		ts.mustPost(t, "component=api&version=1&owner=ana&environment=prod&status="+s.status)
	}
	ts.clock.Set(t0.Add(time.Hour))

	swatch := regexp.MustCompile(`<rect class="(c\d|cx|phase|idle)" width="10" height="10" rx="2"/></svg> ?(\w+)`)
	colours := func(body string) map[string]string {
		m := map[string]string{}
		for _, g := range swatch.FindAllStringSubmatch(body, -1) {
			m[g[2]] = g[1]
		}
		return m
	}
	dash := getPage(t, ts.Client(), ts.URL, "/?component=api&environment=prod&since=")
	want := colours(dash.body)
	if dash.status != 200 || want["tests"] != "c0" || want["rollout"] != "c1" || want["build"] != "c2" {
		t.Fatalf("dashboard %d colours %v, want tests c0, rollout c1, build c2", dash.status, want)
	}
	view := "view=component%3Dapi%26environment%3Dprod%26since%3D"
	for _, path := range []string{
		"/ui/deployment?component=api&version=1&environment=prod&attempt=1&" + view,
		"/ui/deployment?component=api&version=1&environment=prod", // no view: the component's
	} {
		p := getPage(t, ts.Client(), ts.URL, path)
		got := colours(p.body)
		for _, step := range []string{"build", "tests", "rollout"} {
			if got[step] != want[step] {
				t.Errorf("%s: %s is %q, the dashboard's %q", path, step, got[step], want[step])
			}
		}
		bar := regexp.MustCompile(`<rect class="` + want["tests"] + `" x="`)
		if p.status != 200 || !bar.MatchString(p.body) {
			t.Errorf("%s: %d, no bar in the tests colour:\n%s", path, p.status, p.body)
		}
	}
}
