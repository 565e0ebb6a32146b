package server

import (
	"bytes"
	stdhtml "html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// analysisDashboard is a dashboard as the robust analysis fills it: api
// grows, migrate is to blame, two outliers were left out, and one change
// happened in the third week.
func analysisDashboard(direction string) dashboard {
	f := func(v float64) *float64 { return &v }
	week := func(i int) time.Time { return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i) }
	var buckets []model.BucketStats
	for i := range 4 {
		buckets = append(buckets, model.BucketStats{Start: week(i), End: week(i + 1),
			Durations: model.Durations{Count: 5, P50Seconds: f(500 + 40*float64(i)), P90Seconds: f(600 + 40*float64(i)), MaxSeconds: f(700), MeanSeconds: f(520)}})
	}
	st := model.Stats{Bucket: "week", SprintDays: 14, Outcome: "success", Deployments: 20, Buckets: buckets,
		Steps: []model.StepStats{
			{Status: "tests", Durations: model.Durations{Count: 20, P50Seconds: f(300), P90Seconds: f(340)}, TotalSeconds: 6000, SharePercent: 60,
				Buckets: buckets, Trend: model.RobustTrend{GrowthPercentPerWeek: 0.4, GrowthPercentPerWeekLow: -0.2, GrowthPercentPerWeekHigh: 1, Direction: model.DirectionFlat, Method: "theil-sen", Points: 20},
				ShareOfGrowthPercent: f(20)},
			{Status: "migrate", Durations: model.Durations{Count: 20, P50Seconds: f(120), P90Seconds: f(150)}, TotalSeconds: 2400, SharePercent: 24,
				Buckets: buckets, Trend: model.RobustTrend{GrowthPercentPerWeek: 4.1, GrowthPercentPerWeekLow: 3.5, GrowthPercentPerWeekHigh: 4.8, Direction: model.DirectionGrowing, Method: "theil-sen", Points: 20},
				ShareOfGrowthPercent: f(70)},
		},
		Trend: model.Trend{RobustTrend: model.RobustTrend{GrowthPercentPerWeek: 1.5, GrowthPercentPerSprint: 3.0,
			GrowthPercentPerWeekLow: 1.1, GrowthPercentPerWeekHigh: 1.9, Direction: direction, Method: "theil-sen", Outliers: 2, Points: 18},
			Blame: []string{"migrate"}},
		Summary: "Deploy time grows 1.5 % a week (1.1–1.9 %).",
		Outliers: []model.OutlierRef{
			{Component: "api", Version: "0.0.1-test", Environment: "production", Attempt: 1, StartedAt: week(3), DurationSeconds: 0.4, MedianSeconds: 560},
			{Component: "api", Version: "1.9.0", Environment: "production", Attempt: 1, StartedAt: week(2), DurationSeconds: 9000, MedianSeconds: 540},
		},
	}
	if direction == model.DirectionFlat {
		st.Trend.Blame = nil
		st.Trend.GrowthPercentPerWeekLow = -0.4
	}
	changes := model.Changes{Changes: []model.Change{{Component: "api", Environment: "production", Time: week(2).Add(36 * time.Hour),
		Version: "1.20.0", Attempt: 1, BeforeP50Seconds: 542, AfterP50Seconds: 748, ChangePercent: 38, PValue: 0.001,
		Steps: []model.StepChange{{Status: "tests", BeforeP50Seconds: 300, AfterP50Seconds: 490, ChangeSeconds: 190, ShareOfChangePercent: 92}}}}}
	outlier := &model.Deployment{Component: "api", Version: "0.0.1-test", Environment: "production", Attempt: 1, StartedAt: week(3),
		Outcome: model.OutcomeSuccess, DurationSeconds: 0.4}
	return dashboard{stats: st, changes: changes, total: 22, recent: []*model.Deployment{outlier}}
}

func renderDashboard(t *testing.T, d dashboard, query string) string {
	t.Helper()
	values, _ := url.ParseQuery(query)
	q, f, opts, err := dashboardQuery(values, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), model.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := &pageView{Title: "Deploy durations", Query: q, Content: "dashboard", Data: newDashboardView(d, q, f, opts, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))}
	var buf bytes.Buffer
	if err := ui.pages.ExecuteTemplate(&buf, "bottom", v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestDashboardShowsTheRobustAnalysis renders the page from a dashboard
// filled as the estimators fill it: the headline's interval, the blamed
// step first and named, the outliers counted and linked, the change marked
// on the chart and listed, every link carrying the page's view.
func TestDashboardShowsTheRobustAnalysis(t *testing.T) {
	const query = "component=api&since=30d&bucket=week&sprint_days=7"
	html := stdhtml.UnescapeString(renderDashboard(t, analysisDashboard(model.DirectionGrowing), query))
	for _, want := range []string{
		`<dd class="worse" id="growth-week">+1.5 % <span class="note" id="growth-interval">95 % interval +1.1 to +1.9 %</span>`,
		`<p class="blame" id="blame"><strong>migrate accounts for 70 % of the growth (+4.1 % a week)</strong>; it comes first.</p>`,
		`2 outliers left out of the trend`,
		`<span class="badge outlier"`,
		`<g class="change worse" data-change="1">`,
		`<h3 id="changes-title">When deploy time shifted</h3>`,
		`<strong class="worse">+38 % (9m02s → 12m28s)</strong> <span class="moved">tests +3m10s (92 %)</span>`,
		`<td class="num growth worse">+4.1 %</td>`,
		`<td class="num">70 %</td>`,
		`+0.4 % (flat)`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if i, j := strings.Index(html, `</svg> migrate`), strings.Index(html, `</svg> tests`); i < 0 || j < 0 || i > j {
		t.Errorf("migrate, to blame, should lead the steps (migrate at %d, tests at %d)", i, j)
	}
	// The change sits in its week (the third of four), a third of the way
	// in: 3 % + 94 % × (2 + 1.5/7) / 4.
	if m := regexp.MustCompile(`<line class="change" x1="([0-9.]+)%"`).FindStringSubmatch(html); m == nil || m[1] != "55.04" {
		t.Errorf("change marker at %v, want x1=55.04%%", m)
	}
	// Every timeline link carries the view back.
	links := regexp.MustCompile(`href="(/ui/deployment\?[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(links) < 4 { // two outliers, one change, one recent
		t.Fatalf("%d timeline links, want 4", len(links))
	}
	for _, l := range links {
		u, err := url.Parse(l[1])
		if err != nil {
			t.Fatal(err)
		}
		view, err := url.ParseQuery(u.Query().Get("view"))
		if err != nil || view.Get("component") != "api" || view.Get("since") != "30d" || view.Get("bucket") != "week" || view.Get("sprint_days") != "7" {
			t.Errorf("link %s carries the view %v, want %s", l[1], view, query)
		}
	}

	flat := stdhtml.UnescapeString(renderDashboard(t, analysisDashboard(model.DirectionFlat), query))
	if !strings.Contains(flat, `<dd class="" id="growth-week">no clear trend <span class="note" id="growth-interval">95 % interval -0.4 to +1.9 %</span>`) {
		t.Errorf("a flat trend does not say \"no clear trend\" with its interval")
	}
	if strings.Contains(flat, `id="blame"`) {
		t.Errorf("a flat trend blames a step")
	}
}

func TestViewQueryKeepsOnlyTheDashboardsParameters(t *testing.T) {
	q, ok := viewQuery("component=api&bucket=sprint&sprint_start=2026-01-07&next=https://evil.example&since=")
	if !ok || q.Component != "api" || q.Bucket != "sprint" || q.SprintStart != "2026-01-07" || q.Since != "" {
		t.Fatalf("viewQuery = %+v %v", q, ok)
	}
	if got := q.values().Encode(); got != "bucket=sprint&component=api&since=&sprint_start=2026-01-07" {
		t.Errorf("back query %q", got)
	}
	if q, ok := viewQuery("%zz"); ok || q.Since != uiDefaultSince {
		t.Errorf("a broken view = %+v %v, want the default", q, ok)
	}
}

func TestCodeTicks(t *testing.T) {
	for in, want := range map[string]string{
		"`tests` accounts for 59 % of the growth.":    "<code>tests</code> accounts for 59 % of the growth.",
		"`a<b>` and `c&d` account for 70 %":           "<code>a&lt;b&gt;</code> and <code>c&amp;d</code> account for 70 %",
		"an unpaired ` stays <text>":                  "an unpaired ` stays &lt;text&gt;",
		"Deploy time grows 1.9 % a week (1.6–2.2 %).": "Deploy time grows 1.9 % a week (1.6–2.2 %).",
	} {
		if got := string(codeTicks(in)); got != want {
			t.Errorf("codeTicks(%q) = %q, want %q", in, got, want)
		}
	}
}

// A step with too few phases for a fit says so, as the headline does,
// rather than "+0.0 % (flat)", which reads as measured.
func TestStepRowWithTooFewPhases(t *testing.T) {
	few := model.StepStats{Status: "build", Trend: model.RobustTrend{Method: model.TrendMethod, Direction: model.DirectionFlat, Points: model.MinTrendPoints - 1}}
	if got := newStepRow(few, "c1", model.StatsOptions{}, false).Growth; got != "too few" {
		t.Errorf("Growth of %d phases = %q, want \"too few\"", few.Trend.Points, got)
	}
	enough := few
	enough.Trend.Points, enough.Trend.GrowthPercentPerWeek = model.MinTrendPoints, 0.04
	if got := newStepRow(enough, "c1", model.StatsOptions{}, false).Growth; got != "+0.0 % (flat)" {
		t.Errorf("Growth of a flat step = %q, want \"+0.0 %% (flat)\"", got)
	}
}

// TestChangeMarkersNameTheEnvironment: a version that shifted deploy time
// in staging and then in production is two markers on the chart; each
// names its environment, as the list under the chart does, or the two
// read "api 1.20.0" alike.
func TestChangeMarkersNameTheEnvironment(t *testing.T) {
	d := analysisDashboard(model.DirectionGrowing)
	staging := d.changes.Changes[0]
	staging.Environment = "staging"
	staging.Time = staging.Time.Add(-2 * time.Hour)
	d.changes.Changes = []model.Change{staging, d.changes.Changes[0]}
	html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d&bucket=week"))
	for _, want := range []string{
		`<title>Change 1: api 1.20.0 → staging, +38 % (9m02s → 12m28s)</title>`,
		`<title>Change 2: api 1.20.0 → production, +38 % (9m02s → 12m28s)</title>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestDORAPanelSaysEveryEnvironmentCounts: with no environment picked and
// deployments to several in range, the DORA panel's note says first that
// all count, staging too; with one picked, or only one in range, not.
func TestDORAPanelSaysEveryEnvironmentCounts(t *testing.T) {
	const note = "Every environment counts here (production, staging): the keys are production's, pick it under Environment;"
	d := analysisDashboard(model.DirectionGrowing)
	d.environments = []string{"production", "staging"}
	if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d")); !strings.Contains(html, note) {
		t.Errorf("page lacks %q", note)
	}
	if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d&environment=production")); strings.Contains(html, "Every environment counts") {
		t.Errorf("with environment=production, the page still says every environment counts")
	}
	d.environments = []string{"production"}
	if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d")); strings.Contains(html, "Every environment counts") {
		t.Errorf("with one environment in range, the page says every environment counts")
	}
}

// TestShiftNoteUnderTheSummary: a shift in range reads as growth in the
// summary ("grows 2.3 % a week") though deploy time jumped once. A summary
// that gives a rate names the shifts itself (the model's), and the note
// under it points at the chart and the list; under a flat one, the note
// says the rate counts them in; without a shift there is none.
func TestShiftNoteUnderTheSummary(t *testing.T) {
	for _, c := range []struct {
		direction string
		one, two  string
	}{
		{model.DirectionGrowing, "The shift is numbered on the chart and listed below it.",
			"The 2 shifts are numbered on the chart and listed below it."},
		{model.DirectionFlat, "Deploy time shifted at once (numbered on the chart, listed below it): the rate counts the shift in, as if it were steady.",
			"Deploy time shifted at once 2 times (numbered on the chart, listed below it): the rate counts the shifts in, as if they were steady."},
	} {
		d := analysisDashboard(c.direction)
		if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d")); !strings.Contains(html, c.one) {
			t.Errorf("%s: page lacks %q", c.direction, c.one)
		}
		d.changes.Changes = append(d.changes.Changes, d.changes.Changes[0])
		if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d")); !strings.Contains(html, c.two) {
			t.Errorf("%s: page lacks %q", c.direction, c.two)
		}
		d.changes.Changes = nil
		if html := renderDashboard(t, d, "since=30d"); strings.Contains(html, "shift-note") {
			t.Errorf("%s: page without a shift has the shift note", c.direction)
		}
	}
}

// TestTrendSaysEveryEnvironmentCounts: with no environment picked, a
// component flat in production and growing 3 % a week in staging read
// "grows 2.5 % a week" on the page with no word that staging made it (the
// DORA panel said so, the trend did not). The trend's note now says the
// rate blends the environments it measured; with one picked, or one
// measured, there is none.
func TestTrendSaysEveryEnvironmentCounts(t *testing.T) {
	const note = "Every environment counts in this trend and chart (production, staging): the rate blends theirs"
	d := analysisDashboard(model.DirectionGrowing)
	d.stats.Environments = []string{"production", "staging"}
	if html := stdhtml.UnescapeString(renderDashboard(t, d, "since=30d")); !strings.Contains(html, note) {
		t.Errorf("page lacks %q", note)
	}
	if html := renderDashboard(t, d, "since=30d&environment=production"); strings.Contains(html, "env-note") {
		t.Errorf("with environment=production, the page still says every environment counts in the trend")
	}
	d.stats.Environments = []string{"production"}
	if html := renderDashboard(t, d, "since=30d"); strings.Contains(html, "env-note") {
		t.Errorf("with one environment measured, the page says every environment counts in the trend")
	}
}
