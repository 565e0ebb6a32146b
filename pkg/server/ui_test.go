package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/history"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// page is a fetched HTML page.
type page struct {
	status int
	header http.Header
	body   string
}

func getPage(t *testing.T, client *http.Client, base, path string, headers ...string) page {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (p page) count(s string) int { return strings.Count(p.body, s) }

// statsBuckets asks the API how many buckets (and how many with data) the
// stats of query have.
func statsBuckets(t *testing.T, ts *testServer, query string) (all, withData int) {
	t.Helper()
	r := ts.do(t, "GET", "/v1/stats?"+query, nil)
	if r.status != 200 {
		t.Fatalf("GET /v1/stats?%s = %d %s", query, r.status, r.body)
	}
	var st model.Stats
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	for _, b := range st.Buckets {
		if b.Count > 0 {
			withData++
		}
	}
	return len(st.Buckets), withData
}

const wantCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func TestDashboard(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	history.Seed(t, ts.store, history.Spec{End: t0, Days: 120, PerDay: 1, Components: []string{"api", "web", "worker"}})

	t.Run("RendersTheStatsOfTheDefaultRange", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/")
		if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %s", p.status, p.header.Get("Content-Type"))
		}
		since := t0.Add(-90 * 24 * time.Hour).Format(time.RFC3339)
		all, withData := statsBuckets(t, ts, "since="+url.QueryEscape(since))
		if got := p.count(`<g class="bucket"`); got != all || all < 13 {
			t.Errorf("%d buckets in the chart, want %d (as /v1/stats)", got, all)
		}
		if got := p.count(`<circle class="p50"`); got != withData {
			t.Errorf("%d p50 points, want %d", got, withData)
		}
		for _, want := range []string{"Deploy time grows", "Slowest steps", "Recent deployments", `<table class="numbers">`,
			"tests", "migrate", `class="in_progress stuck"`, `<span class="badge running">in progress</span>`,
			`role="img" aria-label="Deploy duration per week`, "/v1/stats?bucket=week&amp;since="} {
			if !strings.Contains(p.body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		// The slowest step is tests: it grows fastest (and, once blamed,
		// carries a badge after its name).
		if i, j := strings.Index(p.body, `</svg> tests`), strings.Index(p.body, `</svg> build`); i < 0 || j < 0 || i > j {
			t.Errorf("tests should lead the slowest steps (tests at %d, build at %d)", i, j)
		}
	})

	t.Run("SecurityAndCacheHeaders", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/")
		for name, want := range map[string]string{
			"Content-Security-Policy": wantCSP,
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		} {
			if got := p.header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		if strings.Contains(p.body, "<script") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
			t.Error("the page has a script, an inline style or an outside URL")
		}
	})

	t.Run("AssetsAreHashedAndCachedForGood", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/")
		css := regexp.MustCompile(`href="(/ui/assets/style\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(p.body)
		icon := regexp.MustCompile(`href="(/ui/assets/icon\.[0-9a-f]{12}\.svg)"`).FindStringSubmatch(p.body)
		if css == nil || icon == nil {
			t.Fatalf("no hashed asset URLs in the page")
		}
		for path, ctype := range map[string]string{css[1]: "text/css; charset=utf-8", icon[1]: "image/svg+xml"} {
			a := getPage(t, nil, ts.URL, path)
			if a.status != 200 || a.header.Get("Content-Type") != ctype || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
				a.header.Get("X-Content-Type-Options") != "nosniff" || len(a.body) < 100 {
				t.Errorf("GET %s = %d %v", path, a.status, a.header)
			}
		}
		// The transport asked for gzip and undid it: ask by hand to see it.
		req, _ := http.NewRequest("GET", ts.URL+css[1], nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("the stylesheet is not compressed for a browser that accepts gzip")
		}
		if fav := getPage(t, nil, ts.URL, "/favicon.ico"); fav.status != 200 || fav.header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("GET /favicon.ico = %d %s", fav.status, fav.header.Get("Content-Type"))
		}
		if a := getPage(t, nil, ts.URL, "/ui/assets/style.000000000000.css"); a.status != 404 {
			t.Errorf("a stale asset hash = %d, want 404", a.status)
		}
	})

	t.Run("FiltersInTheURLChangeTheData", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/?component=api&since=30d&bucket=day")
		if p.status != 200 {
			t.Fatalf("status %d", p.status)
		}
		since := t0.Add(-30 * 24 * time.Hour).Format(time.RFC3339)
		all, _ := statsBuckets(t, ts, "component=api&bucket=day&since="+url.QueryEscape(since))
		if got := p.count(`<g class="bucket"`); got != all || all < 28 {
			t.Errorf("%d buckets, want %d daily buckets", got, all)
		}
		if strings.Contains(p.body, ">web ") || strings.Contains(p.body, ">worker ") {
			t.Error("component=api lists other components")
		}
		for _, want := range []string{`value="api"`, `value="30d"`, `<option value="day" selected>`, "Deploy duration per day"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		sprint := getPage(t, nil, ts.URL, "/?bucket=sprint&sprint_days=7&since=")
		all, _ = statsBuckets(t, ts, "bucket=sprint&sprint_days=7")
		if got := sprint.count(`<g class="bucket"`); got != all {
			t.Errorf("all history in 7-day sprints: %d buckets, want %d", got, all)
		}
		if !strings.Contains(sprint.body, "Deploy duration per 7-day sprint") {
			t.Error("sprint heading missing")
		}
	})

	t.Run("BadFiltersSayWhatIsWrongAndShowNoData", func(t *testing.T) {
		for _, q := range []string{"since=yesterday", "bucket=fortnight", "sprint_days=0", "since=2026-02-01&until=2026-01-01"} {
			p := getPage(t, nil, ts.URL, "/?"+q)
			if p.status != 400 || !strings.Contains(p.body, `class="error" role="alert"`) || strings.Contains(p.body, "Recent deployments") {
				t.Errorf("/?%s = %d; want 400 with an error and no data", q, p.status)
			}
		}
	})

	t.Run("TimelineShowsThePhasesInOrder", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/?component=api")
		link := regexp.MustCompile(`<a href="(/ui/deployment\?[^"]+)">api `).FindStringSubmatch(p.body)
		if link == nil {
			t.Fatal("no deployment link")
		}
		tl := getPage(t, nil, ts.URL, strings.ReplaceAll(link[1], "&amp;", "&"))
		if tl.status != 200 {
			t.Fatalf("timeline = %d", tl.status)
		}
		var got []string
		for _, m := range regexp.MustCompile(`<th scope="row">(?:<svg class="swatch".*?</svg>)?([^<]+)</th>`).FindAllStringSubmatch(tl.body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != "build tests migrate rollout finished" {
			t.Errorf("phases %q", got)
		}
		if n := tl.count(`<td class="bar">`); n != 5 {
			t.Errorf("%d bars, want one per phase", n)
		}
		if nf := getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=nope&environment=production"); nf.status != 404 {
			t.Errorf("unknown deployment = %d", nf.status)
		}
		if bad := getPage(t, nil, ts.URL, "/ui/deployment?component=api"); bad.status != 400 {
			t.Errorf("deployment without version = %d", bad.status)
		}
	})

	t.Run("TimelineAndBackKeepThePageView", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/?component=api&since=60d&bucket=sprint&sprint_days=7")
		link := regexp.MustCompile(`<a href="(/ui/deployment\?[^"]+)">api `).FindStringSubmatch(p.body)
		if link == nil {
			t.Fatal("no deployment link")
		}
		tl := getPage(t, nil, ts.URL, html.UnescapeString(link[1]))
		if tl.status != 200 {
			t.Fatalf("timeline = %d", tl.status)
		}
		for _, want := range []string{`id="f-component" name="component" value="api"`, `id="f-since" name="since" value="60d"`,
			`<option value="sprint" selected>`, `name="sprint_days" value="7"`} {
			if !strings.Contains(tl.body, want) {
				t.Errorf("the timeline's filters lack %q", want)
			}
		}
		back := regexp.MustCompile(`<p class="crumbs"><a href="([^"]+)">`).FindStringSubmatch(tl.body)
		if back == nil {
			t.Fatal("no back link")
		}
		u, err := url.Parse(html.UnescapeString(back[1]))
		if err != nil || u.Path != "/" || u.Query().Encode() != "bucket=sprint&component=api&since=60d&sprint_days=7" {
			t.Fatalf("back link %q, want the page's view", back[1])
		}
		if !strings.Contains(tl.body, `">← api</a></p>`) {
			t.Errorf("back link text: want the view's component, api:\n%s", regexp.MustCompile(`<p class="crumbs">.*`).FindString(tl.body))
		}
		// From the page of every component, back says so, whichever
		// deployment was opened.
		all := getPage(t, nil, ts.URL, "/ui/deployment?component=web&version=2.0.0&environment=production&attempt=1&view=since%3D90d")
		if !strings.Contains(all.body, `<p class="crumbs"><a href="/?since=90d">← all deployments</a>`) {
			t.Errorf("back link to every component:\n%s", regexp.MustCompile(`<p class="crumbs">.*`).FindString(all.body))
		}
		again := getPage(t, nil, ts.URL, u.String())
		if again.status != 200 || !strings.Contains(again.body, "Deploy duration per 7-day sprint") || !strings.Contains(again.body, `value="60d"`) {
			t.Errorf("back on the page: %d, view lost", again.status)
		}
		// Without a view, back leads to the deployment's component.
		plain := getPage(t, nil, ts.URL, "/ui/deployment?component=web&version=2.0.0&environment=production&attempt=1")
		if !strings.Contains(plain.body, `<p class="crumbs"><a href="/?component=web&amp;environment=production&amp;since=90d">← web in production</a>`) {
			t.Errorf("back link without a view:\n%s", regexp.MustCompile(`<p class="crumbs">.*`).FindString(plain.body))
		}
	})

	t.Run("RunningDeploymentTimeline", func(t *testing.T) {
		tl := getPage(t, nil, ts.URL, "/ui/deployment?component=web&version=2.0.0&environment=production&attempt=1")
		if tl.status != 200 || !strings.Contains(tl.body, "in progress") || !strings.Contains(tl.body, "15m00s so far") {
			t.Errorf("running timeline = %d\n%s", tl.status, tl.body)
		}
	})

	t.Run("UnknownUIPathIsAnHTMLNotFound", func(t *testing.T) {
		p := getPage(t, nil, ts.URL, "/ui/nope")
		if p.status != 404 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("/ui/nope = %d %s", p.status, p.header.Get("Content-Type"))
		}
		if api := getPage(t, nil, ts.URL, "/nope"); api.status != 404 || api.header.Get("Content-Type") != "application/json" {
			t.Errorf("/nope = %d %s; other paths stay JSON", api.status, api.header.Get("Content-Type"))
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		r := ts.do(t, "HEAD", "/", nil)
		if r.status != 200 || len(r.body) != 0 {
			t.Errorf("HEAD / = %d with %d bytes", r.status, len(r.body))
		}
	})
}

func TestDashboardEscapesHostileNames(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	evil := `<script>alert(1)</script>`
	for i, s := range []string{"build", "finished"} {
		ts.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		ts.mustPost(t, "component="+url.QueryEscape(evil)+"&version="+url.QueryEscape(`"><img src=x onerror=alert(2)>`)+
			"&owner=o&status="+url.QueryEscape(s+`<b>`)+"&environment="+url.QueryEscape(`'onmouseover='x`))
	}
	ts.clock.Set(t0.Add(time.Hour))
	for _, path := range []string{"/", "/?component=" + url.QueryEscape(evil),
		"/ui/deployment?component=" + url.QueryEscape(evil) + "&version=" + url.QueryEscape(`"><img src=x onerror=alert(2)>`) + "&environment=" + url.QueryEscape(`'onmouseover='x`)} {
		p := getPage(t, nil, ts.URL, path)
		if p.status != 200 {
			t.Fatalf("%s = %d", path, p.status)
		}
		if strings.Contains(p.body, "<script") || strings.Contains(p.body, "<img src=x") || strings.Contains(p.body, "<b>") ||
			strings.Contains(p.body, "'onmouseover='") {
			t.Errorf("%s: a name reached the page unescaped", path)
		}
		if !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped name is missing", path)
		}
	}
}

func TestDashboardTokens(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t),
		server.Token{Scope: server.ScopeRead, Secret: "read-secret-1"}, server.Token{Scope: server.ScopeWrite, Secret: "write-secret-1"})
	history.Seed(t, ts.store, history.Spec{End: t0, Days: 20, PerDay: 1, Components: []string{"api"}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(t *testing.T, path string, form url.Values, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	isForm := func(p page) bool {
		return strings.Contains(p.body, `<form method="post" action="/ui/login">`) && !strings.Contains(p.body, "Recent deployments") &&
			!strings.Contains(p.body, "<g class=\"bucket\"")
	}

	t.Run("NoCookieGetsTheFormAndNoData", func(t *testing.T) {
		for _, path := range []string{"/", "/?component=api", "/ui/deployment?component=api&version=1.0.0&environment=production"} {
			p := getPage(t, nil, ts.URL, path)
			if p.status != 200 || !isForm(p) {
				t.Errorf("%s = %d; want the sign-in form only", path, p.status)
			}
			if p.header.Get("Content-Security-Policy") != wantCSP {
				t.Errorf("%s: CSP %q", path, p.header.Get("Content-Security-Policy"))
			}
		}
		p := getPage(t, nil, ts.URL, "/?component=api&bucket=day")
		if !strings.Contains(p.body, `name="next" value="/?component=api&amp;bucket=day"`) {
			t.Error("the form does not bring the browser back to the page it asked for")
		}
	})

	t.Run("BadTokenGetsTheFormAgainWithAnError", func(t *testing.T) {
		res := post(t, "/ui/login", url.Values{"token": {"guess-guess"}, "next": {"/"}})
		if res.StatusCode != 401 || len(res.Cookies()) != 0 {
			t.Errorf("bad token = %d with cookies %v", res.StatusCode, res.Cookies())
		}
		req, _ := http.NewRequest("POST", ts.URL+"/ui/login", strings.NewReader("token=guess-guess"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if p := (page{body: string(body)}); !isForm(p) || !strings.Contains(p.body, "That token is not valid") {
			t.Errorf("bad token page:\n%s", body)
		}
	})

	t.Run("GoodTokenSetsAStrictCookieAndShowsData", func(t *testing.T) {
		res := post(t, "/ui/login", url.Values{"token": {"read-secret-1"}, "next": {"/?component=api&bucket=day"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/?component=api&bucket=day" {
			t.Fatalf("good token = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		cookies := res.Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies %v", cookies)
		}
		c := cookies[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge <= 0 {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
		}
		if strings.Contains(res.Header.Get("Location"), "secret") {
			t.Error("the token is in a URL")
		}
		p := getPage(t, nil, ts.URL, "/?component=api", "Cookie", c.Name+"="+c.Value)
		if p.status != 200 || isForm(p) || !strings.Contains(p.body, "Recent deployments") || !strings.Contains(p.body, `action="/ui/logout"`) {
			t.Errorf("with the cookie: %d", p.status)
		}
		if p := getPage(t, nil, ts.URL, "/", "Cookie", c.Name+"=bm90LWEtdG9rZW4"); !isForm(p) || !strings.Contains(p.body, "no longer accepted") {
			t.Errorf("a stale cookie = %d", p.status)
		}
		if p := getPage(t, nil, ts.URL, "/", "Authorization", "Bearer write-secret-1"); p.status != 200 || isForm(p) {
			t.Errorf("a bearer token = %d", p.status)
		}
	})

	t.Run("SecureCookieBehindTLS", func(t *testing.T) {
		res := post(t, "/ui/login", url.Values{"token": {"read-secret-1"}}, "X-Forwarded-Proto", "https")
		if len(res.Cookies()) != 1 || !res.Cookies()[0].Secure {
			t.Errorf("cookie behind an HTTPS proxy %v, want Secure", res.Cookies())
		}
		tls := httptest.NewTLSServer(server.New(server.Config{Store: ts.store, Tokens: []server.Token{{Scope: server.ScopeRead, Secret: "read-secret-1"}}}))
		defer tls.Close()
		client := tls.Client()
		client.CheckRedirect = noRedirect.CheckRedirect
		r, err := client.PostForm(tls.URL+"/ui/login", url.Values{"token": {"read-secret-1"}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if len(r.Cookies()) != 1 || !r.Cookies()[0].Secure {
			t.Errorf("cookie over TLS %v, want Secure", r.Cookies())
		}
	})

	t.Run("NoOpenRedirect", func(t *testing.T) {
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/ui/logout"} {
			res := post(t, "/ui/login", url.Values{"token": {"read-secret-1"}, "next": {next}})
			if loc := res.Header.Get("Location"); loc != "/" {
				t.Errorf("next=%q redirects to %q", next, loc)
			}
		}
	})

	t.Run("CrossSiteFormsAreRefused", func(t *testing.T) {
		res := post(t, "/ui/login", url.Values{"token": {"read-secret-1"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
			t.Errorf("cross-site sign-in = %d", res.StatusCode)
		}
		// A browser shows the page's own error, not the API's JSON.
		r := ts.do(t, "POST", "/ui/login", strings.NewReader("token=read-secret-1"), "Content-Type", "application/x-www-form-urlencoded",
			"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if ct := r.header.Get("Content-Type"); r.status != 403 || !strings.HasPrefix(ct, "text/html") ||
			!strings.Contains(string(r.body), `role="alert"`) || !strings.Contains(string(r.body), "another site") {
			t.Errorf("cross-site sign-in answered %d %s: %.300s", r.status, ct, r.body)
		}
		// The API keeps its JSON error.
		if r := ts.do(t, "POST", "/v1/steps", strings.NewReader(`{}`), "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"); r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("cross-site API write = %d %s", r.status, r.header.Get("Content-Type"))
		}
	})

	t.Run("SignOutForgetsTheToken", func(t *testing.T) {
		res := post(t, "/ui/logout", nil)
		if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
			t.Errorf("sign out = %d %v", res.StatusCode, res.Cookies())
		}
	})

	t.Run("TheAPIStillWantsBearerTokens", func(t *testing.T) {
		res := post(t, "/ui/login", url.Values{"token": {"read-secret-1"}})
		c := res.Cookies()[0]
		if r := ts.do(t, "GET", "/v1/stats", nil, "Cookie", c.Name+"="+c.Value); r.status != 401 {
			t.Errorf("/v1/stats with the page's cookie = %d, want 401", r.status)
		}
	})
}

// BenchmarkDashboard times the page against GET /v1/stats, the same pass
// over the store, on the generated one-year history scaled to
// STEPS_UI_STEPS steps (default 100,000):
//
//	go test ./pkg/server -run '^$' -bench Dashboard -benchtime 5x
func BenchmarkDashboard(b *testing.B) {
	steps := 100_000
	if v := os.Getenv(history.EnvSteps); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", history.EnvSteps, err)
		}
		steps = n
	}
	h := history.Scaled(t0, steps)
	st := testdb.Open(b, testdb.SQLite(b))
	n := history.Seed(b, st, h)
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: func() time.Time { return h.End }, RateLimit: -1}))
	defer srv.Close()
	for _, path := range []string{"/v1/stats?since=2025-12-02", "/", "/v1/stats", "/?since="} {
		b.Run(fmt.Sprintf("steps=%d%s", n, path), func(b *testing.B) {
			for b.Loop() {
				res, err := http.Get(srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("%s: %d %v", path, res.StatusCode, err)
				}
			}
		})
	}
}

// brokenStore fails every pass over the deployments, as a database that
// went away would.
type brokenStore struct {
	*store.Store
}

func (brokenStore) EachDeployment(context.Context, model.DeploymentFilter, model.DeploymentRules, time.Time, func(*model.Deployment) error) error {
	return fmt.Errorf("sqlite: disk I/O error in SELECT s.id FROM steps")
}

func (b brokenStore) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	return b.EachDeployment(ctx, f, rules, now, fn)
}

func TestDashboardStoreFailure(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: brokenStore{st}}))
	defer srv.Close()
	p := getPage(t, nil, srv.URL, "/")
	// The top of the page was already out: the failure shows in it.
	if !strings.Contains(p.body, "The data could not be read: internal error") || strings.Contains(p.body, "SELECT") ||
		strings.Contains(p.body, "Recent deployments") || !strings.HasSuffix(strings.TrimSpace(p.body), "</html>") {
		t.Errorf("page after a store failure:\n%s", p.body)
	}
}

// listlessStore refuses to list deployments: a page that needs one
// deployment must look it up, not list them all.
type listlessStore struct {
	*store.Store
}

func (listlessStore) ListDeployments(context.Context, model.DeploymentFilter, model.DeploymentRules, time.Time, func(*model.Deployment) error) (*model.DeploymentKey, error) {
	return nil, fmt.Errorf("the deployment page listed deployments")
}

func (listlessStore) EachDeployment(context.Context, model.DeploymentFilter, model.DeploymentRules, time.Time, func(*model.Deployment) error) error {
	return fmt.Errorf("the deployment page went over the deployments")
}

func (l listlessStore) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	return l.EachDeployment(ctx, f, rules, now, fn)
}

// TestDeploymentPageLooksUpOneDeployment: the timeline of one deployment
// is a direct lookup by its key, exact on the environment (empty included)
// and the attempt.
func TestDeploymentPageLooksUpOneDeployment(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	var ins []model.StepInput
	for i, in := range []struct{ env, status string }{
		{"production", "build"}, {"production", "finished"}, {"", "build"}, {"", "finished"}, {"production", "build"},
	} {
		ins = append(ins, model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Status: in.status, Environment: in.env, Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Store: listlessStore{st}, Now: func() time.Time { return t0.Add(time.Hour) }}))
	defer srv.Close()
	for path, want := range map[string]int{
		"/ui/deployment?component=api&version=1.0&environment=production":           200,
		"/ui/deployment?component=api&version=1.0&environment=production&attempt=2": 200,
		"/ui/deployment?component=api&version=1.0":                                  200, // no environment
		"/ui/deployment?component=api&version=1.0&environment=production&attempt=3": 404,
		"/ui/deployment?component=api&version=1.0&environment=staging":              404,
		"/ui/deployment?component=api&version=1.0&attempt=2":                        404,
	} {
		p := getPage(t, nil, srv.URL, path)
		if p.status != want {
			t.Errorf("%s = %d, want %d: %.300s", path, p.status, want, p.body)
		}
		if want == 200 && p.count(`<td class="bar">`) == 0 {
			t.Errorf("%s shows no phase", path)
		}
	}
}

// TestDeploymentPageShowsTheRevision: a deployment's timeline names the
// commit it deployed, cut as stepsctl's tables cut it, with the whole id
// on hover and when it was committed; a deployment without one has no
// such figure.
func TestDeploymentPageShowsTheRevision(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	const sha = "9f1c2e7d4b3a5c6d7e8f9a0b1c2d3e4f5a6b7c8d"
	committed := t0.Add(-2 * time.Hour)
	var ins []model.StepInput
	for i, status := range []string{"build", "finished"} {
		ins = append(ins,
			model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Status: status, Environment: "production", Time: t0.Add(time.Duration(i) * time.Minute)},
			model.StepInput{Component: "api", Version: "1.1", Owner: "ana", Status: status, Environment: "production", Time: t0.Add(time.Duration(10+i) * time.Minute), Revision: sha, CommittedAt: committed})
	}
	if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: func() time.Time { return t0.Add(time.Hour) }}))
	defer srv.Close()
	p := getPage(t, nil, srv.URL, "/ui/deployment?component=api&version=1.1&environment=production")
	want := `<dd id="revision"><code title="` + sha + `">9f1c2e7d4b3a</code> <span class="note">committed <time datetime="` + committed.UTC().Format(time.RFC3339) + `">` + committed.UTC().Format("2006-01-02 15:04") + `</time></span></dd>`
	if p.status != 200 || !strings.Contains(p.body, want) {
		t.Errorf("status %d; the timeline lacks %s", p.status, want)
	}
	if p := getPage(t, nil, srv.URL, "/ui/deployment?component=api&version=1.0&environment=production"); p.status != 200 || strings.Contains(p.body, "Revision") {
		t.Errorf("status %d; a deployment without a revision shows one", p.status)
	}
}

func TestDashboardOnAnEmptyDatabaseSaysHowToRecordSteps(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	p := getPage(t, nil, ts.URL, "/")
	if p.status != 200 {
		t.Fatalf("GET / = %d", p.status)
	}
	for _, want := range []string{"No deployments in this range.", "<code>stepsctl record --component api", "<code>POST /v1/steps?component=api&amp;version=", "<code>finished</code>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the empty page lacks %q: a newcomer is not told how deploys get there", want)
		}
	}
	// The trend's summary says it; the empty chart does not say it again.
	if n := strings.Count(p.body, "No finished deployments in this range."); n != 1 {
		t.Errorf("the empty page says %d times that no deployment finished, want once", n)
	}
}

// TestPagesHaveOneMainHeading: a screen reader's list of headings starts
// with what the page is. The dashboard and its error pages had none (the
// sections' h2 only); the timeline and the sign-in form had theirs.
func TestPagesHaveOneMainHeading(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	if _, _, err := ts.store.CreateSteps(t.Context(), []model.StepInput{
		{Component: "api", Version: "1.0.0", Owner: "ana", Status: "build", Environment: "production"},
		{Component: "api", Version: "1.0.0", Owner: "ana", Status: "finished", Environment: "production"},
	}, model.RecordMeta{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/":                 "Deploy durations",
		"/?since=nonsense":  "Deploy durations",
		"/ui/no-such-page":  "Not found",
		"/?component=empty": "Deploy durations",
		"/ui/deployment?component=api&version=1.0.0&environment=production&attempt=1": "api 1.0.0",
	} {
		p := getPage(t, nil, ts.URL, path)
		h1 := regexp.MustCompile(`<h1[^>]*>(.*?)</h1>`).FindAllStringSubmatch(p.body, -1)
		if len(h1) != 1 || !strings.HasPrefix(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(h1[0][1], ""), want) {
			t.Errorf("GET %s (%d): main headings %q, want one that starts %q", path, p.status, h1, want)
		}
	}
}

// TestTimelineIsolatesRightToLeftNames: a component, version and
// environment written right to left (Arabic, Hebrew) are each isolated
// (<bdi>), so the heading reads component, version → environment from
// left to right. Without, the browser's bidi rules ran the three into one
// right-to-left run, and the arrow pointed from the environment to the
// component.
func TestTimelineIsolatesRightToLeftNames(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for _, s := range []string{"بناء", "finished"} {
		ts.mustPost(t, "component=%D8%AE%D8%AF%D9%85%D8%A9&version=%D8%A5%D8%B5%D8%AF%D8%A7%D8%B1-1&owner=o&environment=%D8%A7%D9%84%D8%A5%D9%86%D8%AA%D8%A7%D8%AC&status="+url.QueryEscape(s))
	}
	p := getPage(t, nil, ts.URL, "/ui/deployment?component=%D8%AE%D8%AF%D9%85%D8%A9&version=%D8%A5%D8%B5%D8%AF%D8%A7%D8%B1-1&environment=%D8%A7%D9%84%D8%A5%D9%86%D8%AA%D8%A7%D8%AC&attempt=1")
	if want := `<h1 id="timeline-title"><bdi>خدمة</bdi> <bdi>إصدار-1</bdi> → <bdi>الإنتاج</bdi></h1>`; p.status != 200 || !strings.Contains(p.body, want) {
		i := strings.Index(p.body, "<h1")
		t.Errorf("GET timeline = %d, heading %q; want %q", p.status, p.body[max(i, 0):min(max(i, 0)+200, len(p.body))], want)
	}
}
