package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// The retrospective page: deploy durations, their trend, the slowest steps
// and the latest deployments, rendered on the server as HTML with inline
// SVG charts. It needs no JavaScript and fetches nothing from elsewhere:
// the stylesheet and icon are embedded in the binary.

//go:embed ui
var uiFiles embed.FS

// uiCSP allows the page its own stylesheet and images and nothing else: no
// script at all, no framing, forms only to itself.
const uiCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// uiCookie holds the token a browser signed in with, base64url-encoded so
// that any token survives as a cookie value.
const uiCookie = "steps_token"

// uiCookieMaxAge is how long a browser stays signed in.
const uiCookieMaxAge = 7 * 24 * time.Hour

// uiDefaultSince is the range the page shows when the URL names none:
// about six two-week sprints, the span of a retrospective's memory.
const uiDefaultSince = "90d"

// uiRecent is how many of the latest deployments the page lists.
const uiRecent = 20

// uiAsset is one embedded file, served under a URL that carries a hash of
// its content, so browsers may cache it for good.
type uiAsset struct {
	url         string
	contentType string
	body        []byte
	gzipped     []byte
}

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
		"addf":     func(a, b float64) float64 { return a + b },
		"duration": model.HumanDuration,
		"durp": func(v *float64) string {
			if v == nil {
				return "–"
			}
			return model.HumanDuration(*v)
		},
		"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"date":    func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"percent": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " %" },
		"ticks":   codeTicks,
	}).ParseFS(uiFiles, "ui/*.html"))
	return kit
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

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b) //nolint:errcheck // a bytes.Buffer does not fail
	zw.Close()
	return buf.Bytes()
}

// registerUI adds the page's routes. They are not part of the API (nor of
// api/openapi.yaml): they answer HTML, and sign in with a cookie.
func (s *Server) registerUI(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleDashboard)
	mux.HandleFunc("GET /ui/{$}", s.handleDashboard)
	mux.HandleFunc("GET /ui/deployment", s.handleDeploymentPage)
	mux.HandleFunc("GET /ui/assets/{name}", s.handleUIAsset)
	// Browsers ask for /favicon.ico on any page, the API's JSON included.
	mux.HandleFunc("GET /favicon.ico", s.handleFavicon)
	// The cookie is SameSite=Strict; the origin check also stops another
	// site from signing a browser in with a token of its choosing.
	csrf := http.NewCrossOriginProtection()
	mux.Handle("POST /ui/login", csrf.Handler(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /ui/logout", csrf.Handler(http.HandlerFunc(s.handleLogout)))
	mux.HandleFunc("/ui/", s.handleUINotFound)
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
}

// uiQuery is the dashboard's filters as written in the URL (and the form).
type uiQuery struct {
	Component, Environment, Since, Until, Bucket, SprintDays, SprintStart string
	// Calendar is the server's sprint calendar, what the sprint fields
	// mean when left empty; shown as their placeholders.
	Calendar model.StatsOptions
}

// values writes the view back as URL parameters, those given only. since
// is always written: empty, it means all history, not the default range.
func (q uiQuery) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"component", q.Component}, {"environment", q.Environment}, {"until", q.Until},
		{"bucket", q.Bucket}, {"sprint_days", q.SprintDays}, {"sprint_start", q.SprintStart}} {
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
	var err error
	if q.Since != "" {
		if f.Since, err = model.ParseSinceAt("since", q.Since, now); err != nil {
			return q, f, model.StatsOptions{}, err
		}
	}
	if q.Until != "" {
		if f.Until, err = model.ParseUntilAt("until", q.Until, now); err != nil {
			return q, f, model.StatsOptions{}, err
		}
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
	opts, err := statsOptions(p, def)
	return q, f, opts, err
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
	q, f, opts, err := dashboardQuery(r.URL.Query(), now, s.sprintDefaults())
	q.Calendar = s.sprintDefaults()
	v := &pageView{Title: "Deploy durations", SignedIn: s.tokens != nil, Query: q, Content: "dashboard"}
	if err != nil {
		v.Error = model.ErrorMessage(err)
		s.renderPage(w, r, http.StatusBadRequest, v)
		return
	}
	out := s.startPage(w, r, http.StatusOK)
	defer out.close()
	if r.Method == http.MethodHead {
		return
	}
	out.execute("top", v)
	out.flush()

	d, err := s.loadDashboard(r.Context(), f, opts, now)
	if err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return
		}
		s.log.ErrorContext(r.Context(), "dashboard failed", "err", err)
		v.Error = "The data could not be read: " + model.ErrorMessage(err)
		out.execute("bottom", v)
		return
	}
	v.Data = newDashboardView(d, q, f, opts, now)
	out.execute("bottom", v)
}

// dashboard is what the page shows, gathered in one pass over the
// deployments in range: the same stats as GET /v1/stats, and the latest
// deployments as GET /v1/deployments would list them.
type dashboard struct {
	stats        model.Stats
	changes      model.Changes
	recent       []*model.Deployment // newest first
	total        int                 // every deployment in range, running and failed ones too
	running      int
	stuck        int
	components   []string
	environments []string
}

func (s *Server) loadDashboard(ctx context.Context, f model.Filter, opts model.StatsOptions, now time.Time) (dashboard, error) {
	acc := model.NewStatsAccumulator(opts)
	// The changes come from the same pass: the page reads the store once.
	copts := model.ChangesOptions{Outcome: opts.Outcome}
	if err := copts.Validate(); err != nil {
		return dashboard{}, err
	}
	changes := model.NewChangesAccumulator(copts)
	latest := newestDeployments{max: uiRecent}
	unfinished := newestDeployments{max: uiRecent}
	var d dashboard
	components, environments := map[string]bool{}, map[string]bool{}
	err := s.store.EachDeployment(ctx, model.DeploymentFilter{Filter: f}, s.rules, now, func(dep *model.Deployment) error {
		acc.Add(dep)
		changes.Add(dep)
		d.total++
		latest.add(dep)
		if dep.Outcome == model.OutcomeInProgress {
			d.running++
			if dep.Stuck {
				d.stuck++
			}
			unfinished.add(dep)
		}
		// Suggestions for the filter form, bounded however many there are.
		if len(components) < 500 {
			components[dep.Component] = true
		}
		if len(environments) < 100 {
			environments[dep.Environment] = true
		}
		return nil
	})
	if err == nil {
		err = acc.CheckSize()
	}
	if err != nil {
		return d, err
	}
	d.stats = acc.Result()
	d.changes = changes.Result()
	// Deployments still running are listed even when newer ones have
	// pushed them out of the latest: those are the ones to look at.
	d.recent = latest.list
	for _, dep := range unfinished.list {
		if !slices.Contains(d.recent, dep) {
			d.recent = append(d.recent, dep)
		}
	}
	slices.SortFunc(d.recent, func(a, b *model.Deployment) int { return -compareDeployments(a, b) })
	d.components = sortedKeys(components)
	d.environments = sortedKeys(environments)
	return d, nil
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// newestDeployments keeps the max newest deployments it is given, newest
// first.
type newestDeployments struct {
	max  int
	list []*model.Deployment
}

func (n *newestDeployments) add(d *model.Deployment) {
	if len(n.list) == n.max && compareDeployments(d, n.list[len(n.list)-1]) <= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(n.list, d, func(a, b *model.Deployment) int { return -compareDeployments(a, b) })
	n.list = slices.Insert(n.list, i, d)
	if len(n.list) > n.max {
		n.list = n.list[:n.max]
	}
}

// compareDeployments orders deployments as GET /v1/deployments does.
func compareDeployments(a, b *model.Deployment) int {
	return a.Key().Compare(b.Key())
}

// handleDeploymentPage serves GET /ui/deployment: one deployment's
// timeline, named by component, version, environment and attempt.
func (s *Server) handleDeploymentPage(w http.ResponseWriter, r *http.Request) {
	if !s.uiAllowed(w, r) {
		return
	}
	values := r.URL.Query()
	key := model.DeploymentKey{
		Component:   values.Get("component"),
		Version:     values.Get("version"),
		Environment: values.Get("environment"),
		Attempt:     1,
	}
	v := &pageView{Title: "Deployment", SignedIn: s.tokens != nil, Content: "deployment", Query: uiQuery{Since: uiDefaultSince}}
	if a := values.Get("attempt"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 {
			v.Error = "attempt must be a whole number from 1, not " + strconv.Quote(a)
			s.renderPage(w, r, http.StatusBadRequest, v)
			return
		}
		key.Attempt = n
	}
	if key.Component == "" || key.Version == "" {
		v.Error = "Name a deployment by component, version, environment and attempt."
		s.renderPage(w, r, http.StatusBadRequest, v)
		return
	}
	now := s.now()
	var found *model.Deployment
	errFound := errors.New("found")
	f := model.DeploymentFilter{Filter: model.Filter{Component: key.Component, Version: key.Version, Environment: key.Environment}}
	_, err := s.store.ListDeployments(r.Context(), f, s.rules, now, func(d *model.Deployment) error {
		// An empty environment filter matches all; the page wants exactly
		// the one named.
		if d.Environment == key.Environment && d.Attempt == key.Attempt {
			found = d
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		if model.ErrorCode(err) == model.EINTERNAL {
			s.log.ErrorContext(r.Context(), "deployment page failed", "err", err)
		}
		v.Error = "The data could not be read: " + model.ErrorMessage(err)
		s.renderPage(w, r, api.StatusOf(model.ErrorCode(err)), v)
		return
	}
	if found == nil {
		v.Error = "There is no such deployment."
		s.renderPage(w, r, http.StatusNotFound, v)
		return
	}
	v.Title = found.Component + " " + found.Version
	// The page's view, carried in the link, comes back in the filters and
	// the back link; without one, the deployment's component.
	view, ok := viewQuery(values.Get("view"))
	if !ok {
		view.Component, view.Environment = found.Component, found.Environment
	}
	view.Calendar = s.sprintDefaults()
	v.Query = view
	v.Data = newTimelineView(found, s.viewColours(r.Context(), view, now), now, view)
	s.renderPage(w, r, http.StatusOK, v)
}

// handleUIAsset serves GET /ui/assets/{name}: the stylesheet and icon,
// cacheable for a year since their URL changes with their content.
func (s *Server) handleUIAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := ui.assets[r.PathValue("name")]
	if !ok {
		s.handleUINotFound(w, r)
		return
	}
	s.serveAsset(w, r, a, "public, max-age=31536000, immutable")
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, a *uiAsset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("Vary", "Accept-Encoding")
	body := a.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // nothing to do if the client has gone
	}
}

// handleFavicon serves GET /favicon.ico: the page's icon (an SVG, which
// browsers take under any name). Its URL cannot change with its content, so
// it is cached for a day only.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	a := ui.assets[strings.TrimPrefix(ui.urls["icon.svg"], "/ui/assets/")]
	s.serveAsset(w, r, a, "public, max-age=86400")
}

// handleUINotFound answers a /ui/ path the page does not have.
func (s *Server) handleUINotFound(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, http.StatusNotFound, &pageView{Title: "Not found", SignedIn: false,
		Error: "There is no such page.", Content: "none", Query: uiQuery{Since: uiDefaultSince}})
}

// uiAllowed reports whether the request may see data. With tokens
// configured it needs a valid one, in the cookie set by the sign-in form
// or as a bearer token; otherwise it answers with the sign-in form.
func (s *Server) uiAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.tokens == nil {
		return true
	}
	msg := ""
	if c, err := r.Cookie(uiCookie); err == nil {
		if s.tokens.scope(cookieToken(c.Value)) != "" {
			return true
		}
		msg = "The token this browser signed in with is no longer accepted. Enter a current one."
	}
	if presented, ok := bearerToken(r); ok {
		if s.tokens.scope(presented) != "" {
			return true
		}
	}
	s.renderLogin(w, r, msg, r.URL.RequestURI())
	return false
}

func cookieToken(v string) string {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// loginView is the sign-in form's data.
type loginView struct {
	Next string
}

// renderLogin answers with the sign-in form instead of the page asked for.
// The form is what the page is until the browser has a token, so a GET gets
// it with 200 (a browser logs any 4xx page as an error); a rejected token
// gets 401.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, msg, next string) {
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="steps"`)
	}
	s.renderPage(w, r, status, &pageView{Title: "Sign in", Error: msg, Content: "login",
		Query: uiQuery{Since: uiDefaultSince}, Data: loginView{Next: localPath(next)}})
}

// handleLogin serves POST /ui/login: the sign-in form. A valid token is
// kept in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS); the
// browser then goes back to the page it came from.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, "The form could not be read.", "/")
		return
	}
	next := localPath(r.PostForm.Get("next"))
	if s.tokens == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" || s.tokens.scope(token) == "" {
		s.renderLogin(w, r, "That token is not valid. Check it and try again.", next)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     uiCookie,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		MaxAge:   int(uiCookieMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   isHTTPS(r),
		SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout serves POST /ui/logout: it forgets the browser's token.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// isHTTPS reports whether the browser reached us over HTTPS, directly or
// through a proxy that terminates TLS.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// localPath returns p if it is a path on this server, else "/": the form
// must not become a redirect to another site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/ui/login") || strings.HasPrefix(u.Path, "/ui/logout") {
		return "/"
	}
	return p
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q = strings.ReplaceAll(strings.TrimSpace(q), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// pageWriter writes an HTML page, compressed when the browser accepts it.
type pageWriter struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	gz  *gzip.Writer
	buf bytes.Buffer
}

// setPageHeaders sets the headers of every HTML page: the policy, and no
// caching, since the page shows live data and may need a token.
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Encoding, Cookie")
}

func (s *Server) startPage(w http.ResponseWriter, r *http.Request, status int) *pageWriter {
	setPageHeaders(w.Header())
	p := &pageWriter{s: s, w: w, r: r}
	if acceptsGzip(r) && r.Method != http.MethodHead {
		w.Header().Set("Content-Encoding", "gzip")
		p.gz, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}
	w.WriteHeader(status)
	return p
}

// execute renders one template and writes it. A template that fails is a
// bug; the page is cut there and the error logged.
func (p *pageWriter) execute(name string, v *pageView) {
	if p.r.Method == http.MethodHead {
		return
	}
	p.buf.Reset()
	if err := ui.pages.ExecuteTemplate(&p.buf, name, v); err != nil {
		p.s.log.ErrorContext(p.r.Context(), "render page", "template", name, "err", err)
		panic(http.ErrAbortHandler)
	}
	var err error
	if p.gz != nil {
		_, err = p.gz.Write(p.buf.Bytes())
	} else {
		_, err = p.w.Write(p.buf.Bytes())
	}
	if err != nil {
		p.s.log.DebugContext(p.r.Context(), "write page", "err", err)
	}
}

func (p *pageWriter) flush() {
	if p.gz != nil {
		p.gz.Flush() //nolint:errcheck // a client gone shows at the next write
	}
	http.NewResponseController(p.w).Flush() //nolint:errcheck // unsupported by test recorders only
}

func (p *pageWriter) close() {
	if p.gz != nil {
		p.gz.Close() //nolint:errcheck // nothing to do if the client has gone
	}
}

// renderPage writes a whole page at once.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, v *pageView) {
	out := s.startPage(w, r, status)
	defer out.close()
	out.execute("top", v)
	out.execute("bottom", v)
}
