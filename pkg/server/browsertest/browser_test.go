package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/steps-dev/steps/internal/history"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// The browser tests drive the page in a real headless Chromium. They need
// the Debian package chromium (/usr/bin/chromium); STEPS_CHROMIUM names
// another binary. This directory is a module of its own (see doc.go):
//
//	cd pkg/server/browsertest
//	go test -run Browser -v
//	STEPS_UPDATE_SCREENSHOTS=1 go test -run Browser   # rewrites docs/img/*.png
//	STEPS_UI_STEPS=100000 go test -run BrowserPageWeight -v   # the 100k-step measurement
const (
	envChromium    = "STEPS_CHROMIUM"
	envScreenshots = "STEPS_UPDATE_SCREENSHOTS"
)

// t0 is the end of the generated histories: the servers' clock.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// chromium returns the browser to drive. Without one the test is skipped
// with a message saying how to enable it, except under CI, where a skipped
// browser suite would hide a failure: there it fails.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv(envChromium)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := "browser tests skipped: no Chromium at " + path + "; install it (apt-get install -y chromium) or set " + envChromium + " to a Chromium binary"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run them)")
		}
		t.Skip(msg)
	}
	return path
}

// browser starts a headless Chromium with a fresh profile, closed when the
// test ends, and collects what the page writes to the console.
type browser struct {
	ctx     context.Context
	mu      sync.Mutex
	console []string
}

func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	exec := chromium(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exec),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start %s: %v", exec, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s %s)", m.String(), m.Source, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// run runs actions with a time limit.
func (b *browser) run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// navigate runs the actions, which must load a page, and waits for it.
func (b *browser) navigate(t *testing.T, actions ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return res.Status
}

func (b *browser) noConsoleErrors(t *testing.T) {
	t.Helper()
	// Console events arrive on their own; give the last ones a moment.
	time.Sleep(100 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		t.Errorf("console: %s", m)
	}
	b.console = nil
}

// expectConsole checks that the console has the message, and forgets it.
func (b *browser) expectConsole(t *testing.T, suffix string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.console, func(m string) bool { return strings.HasSuffix(m, suffix) })
	if i < 0 {
		t.Errorf("console lacks %q: %q", suffix, b.console)
		return
	}
	b.console = slices.Delete(b.console, i, i+1)
}

func (b *browser) screenshot(t *testing.T, name string, full bool) {
	t.Helper()
	if os.Getenv(envScreenshots) == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	var png []byte
	var err error
	if full {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	} else {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join("..", "..", "..", "docs", "img", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// historyServer is a stepsd over a SQLite store seeded with a generated
// history, its clock at the end of it.
func historyServer(t *testing.T, h history.Spec, tokens ...server.Token) (*httptest.Server, int) {
	t.Helper()
	st := testdb.Open(t, testdb.SQLite(t))
	n := history.Seed(t, st, h)
	srv := httptest.NewServer(server.New(server.Config{Store: st, Tokens: tokens, Now: func() time.Time { return h.End }}))
	t.Cleanup(srv.Close)
	return srv, n
}

// getJSON decodes the JSON answer to GET srv.URL+path into v.
func getJSON(t *testing.T, srv *httptest.Server, path string, v any) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %.300s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %.300s", path, err, body)
	}
}

// statsBuckets asks the API how many buckets (and how many with data) the
// stats of query have.
func statsBuckets(t *testing.T, srv *httptest.Server, query string) (all, withData int) {
	t.Helper()
	var st model.Stats
	getJSON(t, srv, "/v1/stats?"+query, &st)
	for _, b := range st.Buckets {
		if b.Count > 0 {
			withData++
		}
	}
	return len(st.Buckets), withData
}

func TestBrowserDashboard(t *testing.T) {
	chromium(t)
	srv, n := historyServer(t, history.Default(t0))
	t.Logf("history: %d steps", n)
	b := newBrowser(t, 1280, 800)

	t.Run("LoadsWithoutConsoleErrors", func(t *testing.T) {
		if status := b.navigate(t, chromedp.Navigate(srv.URL+"/")); status != 200 {
			t.Fatalf("status %d", status)
		}
		b.run(t, chromedp.WaitVisible(chromedp.ID("trend")))
		if title := eval[string](t, b, `document.title`); title != "Deploy durations · steps" {
			t.Errorf("title %q", title)
		}
		// The stylesheet applied: a rule of it changed the layout.
		if d := eval[string](t, b, `getComputedStyle(document.querySelector('.filters')).display`); d != "flex" {
			t.Errorf("the stylesheet did not apply (filters display %q)", d)
		}
		b.noConsoleErrors(t)
		b.screenshot(t, "dashboard-1280x800.png", false)
		b.screenshot(t, "dashboard-1280-full.png", true)
	})

	t.Run("TrendShowsOnePointPerBucket", func(t *testing.T) {
		since := t0.Add(-90 * 24 * time.Hour).Format(time.RFC3339)
		all, withData := statsBuckets(t, srv, "since="+url.QueryEscape(since))
		if got := eval[int](t, b, `document.querySelectorAll('#trend svg.trend g.bucket').length`); got != all {
			t.Errorf("%d bucket columns, want %d", got, all)
		}
		if got := eval[int](t, b, `document.querySelectorAll('#trend svg.trend circle.p50').length`); got != withData {
			t.Errorf("%d p50 points, want %d", got, withData)
		}
		// Every point is drawn inside the chart, left to right.
		xs := eval[[]float64](t, b, `[...document.querySelectorAll('#trend circle.p50')].map(c => c.getBoundingClientRect().x)`)
		box := eval[[]float64](t, b, `(r => [r.left, r.right])(document.querySelector('#trend svg.trend').getBoundingClientRect())`)
		if !slices.IsSorted(xs) || len(xs) == 0 || xs[0] < box[0] || xs[len(xs)-1] > box[1] {
			t.Errorf("points at %v, chart from %v", xs, box)
		}
		growth := eval[string](t, b, `document.getElementById('summary').textContent`)
		if !strings.HasPrefix(growth, "Deploy time grows ") {
			t.Errorf("summary %q", growth)
		}
	})

	t.Run("ChangingAFilterUpdatesTheURLAndTheData", func(t *testing.T) {
		before := eval[int](t, b, `+document.getElementById('deploy-count').textContent`)
		b.run(t,
			chromedp.SetValue(chromedp.ID("f-component"), "api"),
			chromedp.SetValue(chromedp.ID("f-since"), "365d"),
			chromedp.SetValue(chromedp.ID("f-bucket"), "month"),
		)
		if status := b.navigate(t, chromedp.Click(chromedp.CSS(".filters button[type=submit]"))); status != 200 {
			t.Fatalf("status %d", status)
		}
		loc := eval[string](t, b, `location.href`)
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); q.Get("component") != "api" || q.Get("bucket") != "month" || q.Get("since") != "365d" {
			t.Errorf("URL %s does not hold the filters", loc)
		}
		since := t0.Add(-365 * 24 * time.Hour).Format(time.RFC3339)
		all, _ := statsBuckets(t, srv, "component=api&bucket=month&since="+url.QueryEscape(since))
		if got := eval[int](t, b, `document.querySelectorAll('#trend g.bucket').length`); got != all || all < 12 {
			t.Errorf("%d monthly columns, want %d", got, all)
		}
		after := eval[int](t, b, `+document.getElementById('deploy-count').textContent`)
		if after == before || after == 0 {
			t.Errorf("deployments %d before, %d after filtering", before, after)
		}
		names := eval[[]string](t, b, `[...document.querySelectorAll('#recent tbody td:nth-child(2) a')].map(a => a.textContent)`)
		for _, name := range names {
			if !strings.HasPrefix(name, "api ") {
				t.Errorf("component=api lists %q", name)
			}
		}
		if h := eval[string](t, b, `document.getElementById('trend-title').textContent`); h != "Deploy duration per month" {
			t.Errorf("heading %q", h)
		}
		b.noConsoleErrors(t)
	})

	t.Run("TimelineShowsPhasesInOrder", func(t *testing.T) {
		b.navigate(t, chromedp.Navigate(srv.URL+"/?component=api"))
		link := eval[string](t, b, `document.querySelector('#recent tbody tr.success td:nth-child(2) a').getAttribute('href')`)
		b.navigate(t, chromedp.Click(chromedp.CSS(`#recent tbody tr.success td:nth-child(2) a`)))
		b.run(t, chromedp.WaitVisible(chromedp.ID("timeline")))
		if got := eval[string](t, b, `location.pathname + location.search`); got != link {
			t.Errorf("opened %q, want %q", got, link)
		}
		steps := eval[[]string](t, b, `[...document.querySelectorAll('#timeline tbody th')].map(th => th.textContent)`)
		if strings.Join(steps, " ") != "build tests migrate rollout finished" {
			t.Errorf("phases %q", steps)
		}
		// The bars start where the previous one ends, left to right.
		xs := eval[[][]float64](t, b, `[...document.querySelectorAll('#timeline td.bar rect:not(.track)')].map(r => { const b = r.getBoundingClientRect(); return [b.left, b.right]; })`)
		for i := 1; i < len(xs); i++ {
			if xs[i][0] < xs[i-1][0] || xs[i][0]-xs[i-1][1] > 2 {
				t.Errorf("bar %d at %v follows a bar at %v", i, xs[i], xs[i-1])
			}
		}
		// The durations shown are the API's.
		u, _ := url.Parse(link)
		q := u.Query()
		var list struct{ Deployments []model.Deployment }
		getJSON(t, srv, "/v1/deployments?format=json&component="+url.QueryEscape(q.Get("component"))+"&version="+url.QueryEscape(q.Get("version")), &list)
		if len(list.Deployments) != 1 {
			t.Fatalf("deployment from the API: %d deployments, want 1", len(list.Deployments))
		}
		durations := eval[[]string](t, b, `[...document.querySelectorAll('#timeline tbody td:last-child')].map(td => td.textContent)`)
		for i, p := range list.Deployments[0].Steps {
			want := "end"
			if p.DurationSeconds != nil {
				want = model.HumanDuration(*p.DurationSeconds)
			}
			if i >= len(durations) || durations[i] != want {
				t.Errorf("phase %d (%s): %q, want %q", i, p.Status, durations, want)
			}
		}
		b.noConsoleErrors(t)
		b.screenshot(t, "timeline-1280x800.png", false)
	})

	t.Run("TimelineAndBackKeepThePageView", func(t *testing.T) {
		b.navigate(t, chromedp.Navigate(srv.URL+"/?component=api&since=120d&bucket=sprint&sprint_days=7"))
		b.navigate(t, chromedp.Click(chromedp.CSS(`#recent tbody tr.success td:nth-child(2) a`)))
		b.run(t, chromedp.WaitVisible(chromedp.ID("timeline")))
		form := eval[[]string](t, b, `['f-component', 'f-since', 'f-bucket', 'f-sprint-days'].map(id => document.getElementById(id).value)`)
		if strings.Join(form, " ") != "api 120d sprint 7" {
			t.Errorf("the timeline's filters are %q, want the page's view", form)
		}
		b.navigate(t, chromedp.Click(chromedp.CSS(`#timeline .crumbs a`)))
		b.run(t, chromedp.WaitVisible(chromedp.ID("trend")))
		u, err := url.Parse(eval[string](t, b, `location.href`))
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); u.Path != "/" || q.Get("component") != "api" || q.Get("since") != "120d" || q.Get("bucket") != "sprint" || q.Get("sprint_days") != "7" {
			t.Errorf("back at %s, want the page's view", u)
		}
		if h := eval[string](t, b, `document.getElementById('trend-title').textContent`); h != "Deploy duration per 7-day sprint" {
			t.Errorf("heading %q", h)
		}
		b.noConsoleErrors(t)
	})

	t.Run("Phone", func(t *testing.T) {
		b.run(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		b.navigate(t, chromedp.Navigate(srv.URL+"/"))
		// Nothing but the wide tables scrolls sideways.
		if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide on a 390 px phone", w)
		}
		if n := eval[int](t, b, `[...document.querySelectorAll('.xlabels')].filter(g => getComputedStyle(g).display != 'none').length`); n != 1 {
			t.Errorf("%d sets of axis labels shown", n)
		}
		b.noConsoleErrors(t)
		b.screenshot(t, "dashboard-390x844.png", false)
		b.run(t, chromedp.EmulateViewport(1280, 800))
	})
}

// TestBrowserChanges: a history whose tests step jumps shows the shift as a
// marker on the chart and in the list under it, and the list's link opens
// the first slow deployment's timeline.
func TestBrowserChanges(t *testing.T) {
	chromium(t)
	st := testdb.Open(t, testdb.SQLite(t))
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: func() time.Time { return now }}))
	t.Cleanup(srv.Close)
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	// tests +60 % from deploy 40, 1.40.0
	if _, _, err := st.CreateSteps(t.Context(), history.Daily("api", "production", start, 80, history.Jump), model.RecordMeta{ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1280, 800)

	b.navigate(t, chromedp.Navigate(srv.URL+"/?since=&component=api"))
	listed := eval[int](t, b, `document.querySelectorAll('ol.changes li').length`)
	marked := eval[int](t, b, `document.querySelectorAll('#trend svg.trend g.change').length`)
	if listed != marked {
		t.Errorf("%d changes listed, %d marked on the chart", listed, marked)
	}
	if listed == 0 {
		var stats model.Stats
		getJSON(t, srv, "/v1/stats", &stats)
		if stats.Trend.Method != "" { // the robust estimators are in
			t.Fatalf("no change shown for a history whose tests step jumps 60 %%")
		}
		t.Skip("the change-point estimator is not in yet")
	}
	// The marker stands inside the chart, in the week of the jump.
	x := eval[float64](t, b, `document.querySelector('#trend line.change').getBoundingClientRect().x`)
	cols := eval[[][]float64](t, b, `[...document.querySelectorAll('#trend g.bucket rect.hit')].map(r => { const b = r.getBoundingClientRect(); return [b.left, b.right]; })`)
	starts := eval[[]string](t, b, `[...document.querySelectorAll('#trend g.bucket')].map(g => g.dataset.start)`)
	week := ""
	for i, c := range cols {
		if x >= c[0] && x <= c[1] {
			week = starts[i]
		}
	}
	// Deploy 40 starts on 2026-02-14, in the week of Monday 2026-02-09
	// (the detector may place it a few deployments off).
	if week < "2026-02-02" || week > "2026-02-16" {
		t.Errorf("marker at x=%g, in the week of %q; want near 2026-02-09", x, week)
	}
	text := eval[string](t, b, `document.querySelector('ol.changes li').textContent`)
	if !strings.Contains(text, "api 1.") || !strings.Contains(text, "tests +") {
		t.Errorf("change listed as %q", text)
	}
	b.navigate(t, chromedp.Click(chromedp.CSS(`ol.changes li a`)))
	b.run(t, chromedp.WaitVisible(chromedp.ID("timeline")))
	if v := eval[string](t, b, `new URLSearchParams(location.search).get('version')`); !strings.HasPrefix(v, "1.") {
		t.Errorf("the change's link opened version %q", v)
	}
	if back := eval[string](t, b, `document.querySelector('#timeline .crumbs a').getAttribute('href')`); back != "/?component=api&since=" {
		t.Errorf("back link %q, want the page's view", back)
	}
	b.noConsoleErrors(t)
}

func TestBrowserTokenForm(t *testing.T) {
	chromium(t)
	srv, _ := historyServer(t, history.Spec{End: t0, Days: 30, PerDay: 2, Components: []string{"api", "web"}},
		server.Token{Scope: server.ScopeRead, Secret: "dashboard-secret"})
	b := newBrowser(t, 1280, 800)

	if status := b.navigate(t, chromedp.Navigate(srv.URL+"/?component=web")); status != 200 {
		t.Errorf("without a token: %d", status)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#trend, #recent').length`); n != 0 {
		t.Error("data shown without a token")
	}
	b.screenshot(t, "sign-in-1280x800.png", false)

	b.run(t, chromedp.SetValue(chromedp.ID("token"), "not-the-secret"))
	if status := b.navigate(t, chromedp.Click(chromedp.CSS(".login button[type=submit]"))); status != 401 {
		t.Errorf("wrong token: %d", status)
	}
	if msg := eval[string](t, b, `document.querySelector('.error').textContent`); !strings.Contains(msg, "not valid") {
		t.Errorf("wrong token message %q", msg)
	}
	// The browser logs the 401 of the rejected form: that one is expected.
	b.expectConsole(t, "status of 401 (Unauthorized) (network "+srv.URL+"/ui/login)")

	b.run(t, chromedp.SetValue(chromedp.ID("token"), "dashboard-secret"))
	b.navigate(t, chromedp.Click(chromedp.CSS(".login button[type=submit]")))
	b.run(t, chromedp.WaitVisible(chromedp.ID("trend")))
	if got := eval[string](t, b, `location.pathname + location.search`); got != "/?component=web" {
		t.Errorf("after sign-in at %q, want back at /?component=web", got)
	}
	if href := eval[string](t, b, `location.href`); strings.Contains(href, "secret") {
		t.Errorf("token in the URL %s", href)
	}
	if c := eval[string](t, b, `document.cookie`); c != "" {
		t.Errorf("the page's script can read cookie %q", c)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
		if err != nil {
			return nil, err
		}
		return res.Cookies, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 1 || !cookies[0].HTTPOnly || cookies[0].SameSite != network.CookieSameSiteStrict || cookies[0].Session {
		for _, c := range cookies {
			t.Errorf("cookie %s: HttpOnly %v SameSite %q session %v", c.Name, c.HTTPOnly, c.SameSite, c.Session)
		}
		t.Errorf("want one persistent HttpOnly, SameSite=Strict cookie; got %d", len(cookies))
	}

	b.navigate(t, chromedp.Click(chromedp.CSS(".signout button")))
	if n := eval[int](t, b, `document.querySelectorAll('#token').length`); n != 1 {
		t.Error("signing out does not bring the form back")
	}
	b.noConsoleErrors(t)
}

// TestBrowserPageWeight measures what a first visit costs: bytes over the
// wire for the page and its assets, and the paint times, over a generated
// history (STEPS_UI_STEPS steps, default the one-year history).
func TestBrowserPageWeight(t *testing.T) {
	chromium(t)
	h := history.Default(t0)
	if v := os.Getenv(history.EnvSteps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: %v", history.EnvSteps, err)
		}
		h = history.Scaled(t0, n)
	}
	start := time.Now()
	srv, n := historyServer(t, h)
	t.Logf("seeded %d steps in %s", n, time.Since(start).Round(time.Millisecond))
	for _, path := range []string{"/", "/?since=", "/?since=&bucket=day"} {
		// A fresh profile, so nothing is cached; a first page that loads no
		// asset, so the browser's own start-up is not counted.
		b := newBrowser(t, 1280, 800)
		b.navigate(t, chromedp.Navigate(srv.URL+"/healthz"))
		b.navigate(t, chromedp.Navigate(srv.URL+path))
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`performance.getEntriesByName('first-contentful-paint').length > 0`)); err != nil {
			t.Errorf("no first contentful paint: %v", err)
		}
		cancel()
		m := eval[map[string]float64](t, b, `(() => {
			const nav = performance.getEntriesByType('navigation')[0];
			const paint = Object.fromEntries(performance.getEntriesByType('paint').map(p => [p.name, p.startTime]));
			const res = performance.getEntriesByType('resource');
			return {
				html: nav.transferSize, htmlBody: nav.decodedBodySize,
				assets: res.reduce((s, r) => s + r.transferSize, 0), n: res.length,
				ttfb: nav.responseStart, responseEnd: nav.responseEnd,
				fcp: paint['first-contentful-paint'] || -1, load: nav.loadEventEnd,
			};
		})()`)
		total := m["html"] + m["assets"]
		t.Logf("%-22s transferred %5.1f KB (page %5.1f KB, %5.1f KB unpacked; %d assets %4.1f KB) · TTFB %4.0f ms · first contentful paint %4.0f ms · page complete %4.0f ms · load %4.0f ms",
			path, total/1000, m["html"]/1000, m["htmlBody"]/1000, int(m["n"]), m["assets"]/1000, m["ttfb"], m["fcp"], m["responseEnd"], m["load"])
		if total > 200_000 {
			t.Errorf("%s: %.0f bytes transferred; the page must stay under 200 KB", path, total)
		}
		b.noConsoleErrors(t)
	}
}

// TestBrowserLongNames: names as long as a step may hold (a component,
// version and owner of 128 characters, an environment and a status of 64,
// none with a space) wrap on the page and the timeline: no table hides its
// outcome and durations past a sideways scroll on a wide screen, and no
// page is wider than a phone. Each pushed the recent deployments' outcome
// 3,000 px to the right at 1440 px, and made the page 588 px wide on a
// 390 px phone.
func TestBrowserLongNames(t *testing.T) {
	chromium(t)
	st := testdb.Open(t, testdb.SQLite(t))
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: func() time.Time { return now }}))
	t.Cleanup(srv.Close)
	long := strings.Repeat("c", 100) + "-component-" + strings.Repeat("z", 17)
	steps := history.Daily("api", "production", now.AddDate(0, 0, -20), 10, history.Jump)
	for i, status := range []string{strings.Repeat("s", 64), "finished"} {
		steps = append(steps, model.StepInput{Component: long, Version: strings.Repeat("v", 128), Owner: strings.Repeat("o", 128),
			Status: status, Environment: strings.Repeat("e", 64), Time: now.Add(time.Duration(i-60) * time.Minute)})
		// A name of 21 characters, which must stay on one line.
		steps = append(steps, model.StepInput{Component: "api", Version: "2.0.0-rc.1+b.4711", Owner: "github-actions",
			Status: status, Environment: "production (eu-west-1)", Time: now.Add(time.Duration(i-30) * time.Minute)})
	}
	// A deployment in progress, whose outcome cell carries its ETA.
	steps = append(steps, model.StepInput{Component: "api", Version: "2.1.0", Owner: "ana", Status: "build", Environment: "production", Time: now.Add(-time.Minute)})
	if _, _, err := st.CreateSteps(t.Context(), steps, model.RecordMeta{ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	const overflow = `[...document.querySelectorAll('.scroll')].filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.closest('section').id + ' ' + s.scrollWidth + ' > ' + s.clientWidth)`
	for _, width := range []int{1440, 1024, 390} {
		b := newBrowser(t, width, 900)
		b.navigate(t, chromedp.Navigate(srv.URL+"/?since="))
		timeline := eval[string](t, b, `document.querySelector('#recent tbody tr td:nth-child(2) a').href`)
		for _, page := range []string{srv.URL + "/?since=", timeline} {
			b.navigate(t, chromedp.Navigate(page))
			if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("%d px: %s is %d px wide", width, page, w)
			}
			// On a phone the wide tables scroll sideways by design.
			if width >= 1024 {
				if wide := eval[[]string](t, b, overflow); len(wide) > 0 {
					t.Errorf("%d px: %s: tables wider than their card: %q", width, page, wide)
				}
			}
		}
		// Short names stay on one line: only the long ones wrap.
		b.navigate(t, chromedp.Navigate(srv.URL+"/?since="))
		if width >= 1024 {
			if wrapped := eval[[]string](t, b, `[...document.querySelectorAll('#recent tbody td a')].filter(a => a.textContent.startsWith('api ') && a.getClientRects().length > 1).map(a => a.textContent)`); len(wrapped) > 0 {
				t.Errorf("%d px: short names wrapped: %q", width, wrapped)
			}
		}
		b.noConsoleErrors(t)
	}
}
