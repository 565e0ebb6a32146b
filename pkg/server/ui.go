package server

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

// The retrospective page: deploy durations, their trend, the slowest steps
// and the latest deployments, rendered on the server as HTML with inline
// SVG charts. It needs no JavaScript and fetches nothing from elsewhere:
// the stylesheet and icon are embedded in the binary.
//
// By concern: this file holds the templates, the routes and the dashboard's
// handler and filters; ui_aggregate.go what the dashboard gathers,
// ui_chart.go how it is drawn, ui_deployment.go one deployment's page,
// ui_signin.go the sign-in, ui_page.go the page writer and ui_assets.go
// the embedded stylesheet and icon.

//go:embed ui
var uiFiles embed.FS

// uiCSP allows the page its own stylesheet and images and nothing else: no
// script at all, no framing, forms only to itself.
const uiCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// uiDefaultSince is the range the page shows when the URL names none:
// about six two-week sprints, the span of a retrospective's memory.
const uiDefaultSince = "90d"

// uiRecent is how many of the latest deployments the page lists.
const uiRecent = 20

// uiKit is what every page needs, loaded once from the embedded files.
type uiKit struct {
	pages  *template.Template
	assets map[string]*uiAsset // by the file name in the URL
	urls   map[string]string   // file name → URL
}

var ui = mustLoadUI()

func mustLoadUI() *uiKit {
	kit := &uiKit{assets: map[string]*uiAsset{}, urls: map[string]string{}}
	entries, err := fs.ReadDir(uiFiles, "ui/assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		body, err := uiFiles.ReadFile("ui/assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a := &uiAsset{url: "/ui/assets/" + hashed, contentType: mime.TypeByExtension(ext), body: body, gzipped: gzipBytes(body)}
		kit.assets[hashed] = a
		kit.urls[e.Name()] = a.url
	}
	kit.pages = template.Must(template.New("").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := kit.urls[name]
			if !ok {
				return "", errors.New("no asset " + name)
			}
			return u, nil
		},
		"n":        formatCoord,
		"count":    formatCount,
		"add":      func(a, b int) int { return a + b },
		"sub":      func(a, b int) int { return a - b },
		"addf":     func(a, b float64) float64 { return a + b },
		"duration": model.HumanDuration,
		"durp": func(v *float64) string {
			if v == nil {
				return "–"
			}
			return model.HumanDuration(*v)
		},
		// An ETA of 0 is a deploy past its usual end: overdue, as
		// stepsctl says, not "ETA 0.0s", done any moment; one past its
		// usual length in an earlier phase is overdue too, with its later
		// steps still ahead ("overdue, ETA 40s").
		"etaphrase": func(v *float64, overdue bool) string {
			if v == nil {
				return "–"
			}
			return model.ETAPhraseLate(*v, overdue)
		},
		"etawords": func(v *float64, overdue bool) string {
			if v == nil {
				return "–"
			}
			return model.ETAWordsLate(*v, overdue)
		},
		// A time of a deployment or step is read in the page's zone, the
		// one its buckets use, so that a deploy at 08:00 in Sydney reads
		// 08:00 beside Monday's bucket; iso keeps the instant for
		// machines, in UTC as the API gives it.
		"at":    func(loc *time.Location, t time.Time) string { return t.In(zoneOrUTC(loc)).Format("2006-01-02 15:04") },
		"dayat": func(loc *time.Location, t time.Time) string { return t.In(zoneOrUTC(loc)).Format("2006-01-02") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// In the time's own zone: a bucket's start is midnight in the
		// calendar's zone, and its date there is the team's.
		"date":     func(t time.Time) string { return t.Format("2006-01-02") },
		"zone":     model.ZoneName,
		"percent":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " %" },
		"ticks":    codeTicks,
		"shortrev": model.ShortRevision,
		"wrap":     wrapName,
	}).ParseFS(uiFiles, "ui/*.html"))
	return kit
}

// wrapAbove is the length past which a name in a table cell may wrap.
const wrapAbove = 24

// wrapName says whether a cell holding the names must be let wrap: a
// name may be 128 characters without a space, and on one line it pushes
// the table's figures out of sight. Shorter ones stay on one line, as a
// cell that may wrap is squeezed first when the table lays out.
func wrapName(names ...string) bool {
	n := len(names) - 1
	for _, s := range names {
		n += utf8.RuneCountInString(s)
	}
	return n > wrapAbove
}

// formatCount writes a count with its thousands grouped: 49,000.
func formatCount(n int) string {
	if n < 0 {
		return "-" + formatCount(-n)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// zoneOrUTC is loc, or UTC for nil (model.ZoneName's reading).
func zoneOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// codeTicks renders text in which `name` marks a step's name (as the
// stats summary writes them) with those names as code. Everything is
// escaped first: the names are what deploy scripts sent.
func codeTicks(s string) template.HTML {
	parts := strings.Split(template.HTMLEscapeString(s), "`")
	if len(parts)%2 == 0 {
		// An unpaired backtick is text, not markup.
		return template.HTML(template.HTMLEscapeString(s)) //nolint:gosec // escaped
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + p + "</code>")
		} else {
			b.WriteString(p)
		}
	}
	return template.HTML(b.String()) //nolint:gosec // every part escaped above
}

// registerUI adds the page's routes. They are not part of the API (nor of
// api/openapi.yaml): they answer HTML, and sign in with a cookie.
func (s *Server) registerUI(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.gatePage(s.handleDashboard))
	mux.HandleFunc("GET /ui/{$}", s.gatePage(s.handleDashboard))
	mux.HandleFunc("GET /ui/deployment", s.gatePage(s.handleDeploymentPage))
	mux.HandleFunc("GET /ui/assets/{name}", s.handleUIAsset)
	// Browsers ask for /favicon.ico on any page, the API's JSON included.
	mux.HandleFunc("GET /favicon.ico", s.handleFavicon)
	// The cookie is SameSite=Strict; the origin check also stops another
	// site from signing a browser in with a token of its choosing.
	csrf := http.NewCrossOriginProtection()
	mux.Handle("POST /ui/login", csrf.Handler(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /ui/logout", csrf.Handler(http.HandlerFunc(s.handleLogout)))
	mux.HandleFunc(uiNotFoundPattern, s.handleUINotFound)
}

// pageView is what every page template gets.
type pageView struct {
	Title string
	// SignedIn shows the sign-out button: tokens are configured and the
	// browser holds a valid one.
	SignedIn bool
	Error    string
	Query    uiQuery
	// Content names the template of the page's body.
	Content string
	Data    any
	// Zone is the zone the page's times are shown in, named in its
	// footer; nil is the server's.
	Zone *time.Location
}

// uiQuery is the dashboard's filters as written in the URL (and the form).
type uiQuery struct {
	Component, Environment, Since, Until, Bucket, SprintDays, SprintStart, TZ string
	// Calendar is the server's sprint calendar, what the sprint fields
	// mean when left empty; shown as their placeholders.
	Calendar model.StatsOptions
}

// values writes the view back as URL parameters, those given only. since
// is always written: empty, it means all history, not the default range.
func (q uiQuery) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"component", q.Component}, {"environment", q.Environment}, {"until", q.Until},
		{"bucket", q.Bucket}, {"sprint_days", q.SprintDays}, {"sprint_start", q.SprintStart}, {"tz", q.TZ}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	v.Set("since", q.Since)
	return v
}

// viewQuery reads the dashboard's view carried by a link from the page
// (the view parameter of a timeline). Only the dashboard's own parameters
// are kept: the back link it becomes leads to the page and nowhere else.
func viewQuery(view string) (uiQuery, bool) {
	values, err := url.ParseQuery(view)
	if err != nil || view == "" {
		return uiQuery{Since: uiDefaultSince}, false
	}
	return readUIQuery(values), true
}

// readUIQuery reads the dashboard's parameters as written.
func readUIQuery(values url.Values) uiQuery {
	q := uiQuery{
		Component:   strings.TrimSpace(values.Get("component")),
		Environment: strings.TrimSpace(values.Get("environment")),
		Since:       strings.TrimSpace(values.Get("since")),
		Until:       strings.TrimSpace(values.Get("until")),
		Bucket:      strings.TrimSpace(values.Get("bucket")),
		SprintDays:  strings.TrimSpace(values.Get("sprint_days")),
		SprintStart: strings.TrimSpace(values.Get("sprint_start")),
		TZ:          strings.TrimSpace(values.Get("tz")),
	}
	if !values.Has("since") {
		q.Since = uiDefaultSince
	}
	return q
}

// dashboardQuery reads the dashboard's filters. Relative spans ("90d") are
// taken back from now. Unknown parameters are ignored: a bookmark must keep
// working when the page changes.
func dashboardQuery(values url.Values, now time.Time, def model.StatsOptions) (uiQuery, model.Filter, model.StatsOptions, error) {
	q := readUIQuery(values)
	f := model.Filter{Component: q.Component, Environment: q.Environment}
	// A date in since or until is a day of the page's zone, as its
	// buckets are: the range from Monday starts at Monday's bucket. A date
	// and time without an offset is a time of that zone too, the one the
	// page shows times in, so a time copied from the page selects what it
	// named; the API reads such a time as UTC, and the page's links to it
	// carry instants (boundParam).
	loc := def.Location
	var err error
	if q.TZ != "" {
		if loc, err = model.LoadZone("tz", q.TZ); err != nil {
			return q, f, model.StatsOptions{}, err
		}
	}
	if q.Since != "" {
		if f.Since, err = model.ParseSinceAtZoned("since", q.Since, now, loc); err != nil {
			return q, f, model.StatsOptions{}, err
		}
	}
	if q.Until != "" {
		if f.Until, err = model.ParseUntilAtZoned("until", q.Until, now, loc); err != nil {
			return q, f, model.StatsOptions{}, err
		}
	}
	// Said in the page's zone, the one the fields were typed in: the
	// filter's own message gives UTC instants, and "until (2026-11-01
	// 12:59:59.999999)" for a day typed in Sydney reads as a misreading.
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return q, f, model.StatsOptions{}, model.Invalid("until", "Until (%s) is before Since (%s)", pageInstant(f.Until, loc), pageInstant(f.Since, loc))
	}
	// A range that starts later than now holds nothing, and the four
	// keys, over a period that ends now at the latest, have no day to
	// count in (GET /v1/dora refuses it): the empty page read "deployment
	// frequency: none, low" and told how to record a first deploy.
	if f.Since.After(now) {
		return q, f, model.StatsOptions{}, model.Invalid("since", "Since (%s) is after now (%s): nothing has started in that range yet",
			pageInstant(f.Since, loc), pageInstant(now, loc))
	}
	if err := f.Validate(); err != nil {
		return q, f, model.StatsOptions{}, err
	}
	p := params{}
	for name, v := range map[string]string{"bucket": q.Bucket, "sprint_days": q.SprintDays, "sprint_start": q.SprintStart} {
		if v != "" {
			p[name] = v
		}
	}
	def.Location = loc
	opts, err := statsOptions(p, def)
	return q, f, opts, err
}

// pageInstant writes t as a form's field reads it, to the second, in loc
// (nil: UTC), named.
func pageInstant(t time.Time, loc *time.Location) string {
	return t.In(zoneOrUTC(loc)).Format("2006-01-02 15:04:05") + " " + model.ZoneName(loc)
}

// handleDashboard serves GET / and GET /ui/: the retrospective page.
//
// The top of the page (title and filters) goes out before the numbers are
// computed, so the browser paints it while the store is read.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	if !s.uiAllowed(w, r) {
		return
	}
	now := s.now()
	q, f, opts, err := dashboardQuery(r.URL.Query(), now, s.sprintDefaults(s.location))
	q.Calendar = s.sprintDefaults(s.location)
	v := &pageView{Title: "Deploy durations", SignedIn: s.tokens != nil, Query: q, Content: "dashboard"}
	if err != nil {
		v.Error = model.ErrorMessage(err)
		s.renderPage(w, r, http.StatusBadRequest, v)
		return
	}
	v.Zone = opts.Location
	// The dashboard is an analysis (enterAnalysis): its turn is waited
	// for before the page starts, so that a busy server answers 503.
	leave := func() {}
	if r.Method != http.MethodHead {
		if leave, err = s.enterAnalysis(r.Context(), s.clientKey(r)); err != nil {
			if r.Context().Err() != nil {
				return
			}
			v.Title, v.Error, v.Content = "Busy", model.ErrorMessage(err), "none"
			w.Header().Set("Retry-After", "5")
			s.renderPage(w, r, http.StatusServiceUnavailable, v)
			return
		}
	}
	defer leave()
	out := s.startPage(w, r, http.StatusOK)
	defer out.close()
	if r.Method == http.MethodHead {
		return
	}
	out.execute("top", v)
	out.flush()

	d, err := s.loadDashboard(r.Context(), f, opts, now)
	if err == nil {
		v.Data = newDashboardView(d, q, f, opts, now)
	}
	leave()
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return
		}
		var me *model.Error
		if errors.As(err, &me) && me.Code == model.EINVALID {
			// The range asked for is too large: advice in the form's words.
			v.Error = me.AdviceIn(formLabel)
			out.execute("bottom", v)
			return
		}
		s.log.ErrorContext(r.Context(), "dashboard failed", "err", err)
		v.Error = "The data could not be read: " + model.ErrorMessage(err)
		out.execute("bottom", v)
		return
	}
	out.execute("bottom", v)
}

// formLabel names the filter of the page's form that sets a parameter.
func formLabel(param string) string {
	return map[string]string{"since": "Since", "until": "Until", "bucket": "Per", "component": "Component", "environment": "Environment"}[param]
}

// handleUINotFound answers a /ui/ path the page does not have.
func (s *Server) handleUINotFound(w http.ResponseWriter, r *http.Request) {
	s.renderPageError(w, r, http.StatusNotFound, "Not found", "There is no such page.")
}

// renderPageError answers a page request refused before the page could
// be made, in the page's HTML (a browser shows it; the API's JSON would
// be a wall of text), with msg and the form at its defaults.
func (s *Server) renderPageError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.renderPage(w, r, status, &pageView{Title: title, Error: msg, Content: "none", Query: uiQuery{Since: uiDefaultSince}})
}
