package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// fast retries keep failure tests quick while still exercising backoff.
var fast = client.RetryPolicy{MaxAttempts: 4, BaseDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxElapsed: 5 * time.Second}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// stepsd is a real steps server over a temporary SQLite database, with a
// clock that advances a second per step so that times are exact.
type stepsd struct {
	*httptest.Server
	store *store.Store
	// requests counts requests per "METHOD path" and their idempotency keys.
	mu       sync.Mutex
	requests []*http.Request
}

func startStepsd(t *testing.T, wrap ...func(http.Handler) http.Handler) *stepsd {
	t.Helper()
	st := testdb.Open(t, testdb.SQLite(t))
	var tick atomic.Int64
	now := func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Second) }
	s := &stepsd{store: st}
	var h http.Handler = server.New(server.Config{Store: st, Now: now})
	for _, w := range wrap {
		h = w(h)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// sent returns the requests whose "METHOD path" is route.
func (s *stepsd) sent(route string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.requests {
		if r.Method+" "+r.URL.Path == route {
			out = append(out, r)
		}
	}
	return out
}

// count returns the number of stored steps, straight from the store.
func (s *stepsd) count(t *testing.T) int {
	t.Helper()
	n := 0
	if _, err := s.store.ListSteps(context.Background(), model.Filter{}, func(model.Step) error { n++; return nil }); err != nil {
		t.Fatalf("list store: %v", err)
	}
	return n
}

func mustClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, append([]client.Option{client.WithRetry(fast)}, opts...)...)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

func mustRecord(t *testing.T, c *client.Client, in model.StepInput) model.Step {
	t.Helper()
	s, err := c.Record(context.Background(), in)
	if err != nil {
		t.Fatalf("Record(%+v): %v", in, err)
	}
	return s
}

func input(component, version, status string) model.StepInput {
	return model.StepInput{Component: component, Version: version, Owner: "ana", Status: status, Environment: "production"}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // BaseURL, or "" for an error
	}{
		{"http://localhost:8080", "http://localhost:8080"},
		{"https://steps.example.com/prefix/", "https://steps.example.com/prefix"},
		{"http://localhost:8080/v1", "http://localhost:8080"},
		{"http://localhost:8080/v1/", "http://localhost:8080"},
		{"https://steps.example.com/prefix/v1", "https://steps.example.com/prefix"},
		{"https://steps.example.com/v10", "https://steps.example.com/v10"},
		{"http://localhost:8080/v1/steps", "http://localhost:8080"},
		{"http://localhost:8080/v1/steps/", "http://localhost:8080"},
		{"https://steps.example.com/prefix/v1/steps", "https://steps.example.com/prefix"},
		{"https://steps.example.com/steps", "https://steps.example.com/steps"},
		{" http://h:1 ", "http://h:1"},
		{"localhost:8080", ""},
		{"ftp://h", ""},
		{"http://", ""},
		{"http://h?x=1", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := client.New(tc.url)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("New(%q) = nil error, want one", tc.url)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.url, err)
			}
			if got := c.BaseURL(); got != tc.want {
				t.Errorf("BaseURL() = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := client.New("http://h", client.WithPageSize(model.MaxLimit+1)); err == nil {
		t.Error("page size above MaxLimit accepted")
	}
}

// TestNilOptionAndZeroClient: a nil Option (one a program left unset when
// a setting was absent) is skipped by New, and a zero Client's calls fail
// with an error saying to use New; both panicked on a nil pointer.
func TestNilOptionAndZeroClient(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	var unset client.Option
	c, err := client.New(srv.URL, unset, client.WithRetry(fast), nil)
	if err != nil {
		t.Fatalf("New with nil options: %v", err)
	}
	if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
		t.Fatalf("Record on a client made with nil options: %v", err)
	}

	var zero client.Client
	if got := zero.BaseURL(); got != "" {
		t.Errorf("zero Client's BaseURL() = %q, want \"\"", got)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"Record": func() error { _, err := zero.Record(ctx, input("api", "1", "build")); return err },
		"List":   func() error { _, err := zero.List(ctx, model.Filter{}); return err },
		"Deployments": func() error {
			_, err := zero.ListDeployments(ctx, model.DeploymentFilter{})
			return err
		},
		"Stats": func() error { _, err := zero.Stats(ctx, model.Filter{}, model.StatsOptions{}); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil || !strings.Contains(err.Error(), "client.New") {
			t.Errorf("zero Client's %s = %v, want an error saying to use client.New", name, err)
		}
	}

	// A *Client field never set is nil, not zero: Record said to use New
	// while Steps, Deployments, RecordWithKey, SendBatch and BaseURL
	// panicked on it.
	var none *client.Client
	if got := none.BaseURL(); got != "" {
		t.Errorf("nil Client's BaseURL() = %q, want \"\"", got)
	}
	first := func(seq func(func(struct{}, error) bool)) (err error) {
		seq(func(_ struct{}, e error) bool { err = e; return false })
		return err
	}
	nilCalls := map[string]func() error{
		"Record": func() error { _, err := none.Record(ctx, input("api", "1", "build")); return err },
		"Steps": func() error {
			return first(func(yield func(struct{}, error) bool) {
				for _, err := range none.Steps(ctx, model.Filter{}) {
					if !yield(struct{}{}, err) {
						return
					}
				}
			})
		},
		"Deployments": func() error {
			return first(func(yield func(struct{}, error) bool) {
				for _, err := range none.Deployments(ctx, model.DeploymentFilter{}) {
					if !yield(struct{}{}, err) {
						return
					}
				}
			})
		},
		"ListDeployments": func() error { _, err := none.ListDeployments(ctx, model.DeploymentFilter{}); return err },
		"RecordWithKey":   func() error { _, err := none.RecordWithKey(ctx, "k", input("api", "1", "build")); return err },
		"SendBatch": func() error {
			_, err := none.SendBatch(ctx, "k", []model.StepInput{input("api", "1", "build")})
			return err
		},
	}
	for name, call := range nilCalls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("nil Client's %s panicked: %v", name, r)
				}
			}()
			if err := call(); err == nil || !strings.Contains(err.Error(), "client.New") {
				t.Errorf("nil Client's %s = %v, want an error saying to use client.New", name, err)
			}
		}()
	}
}

// TestNewRefusesATokenWithANewline: a token read from a file with its
// final newline is refused by New, by name, rather than sent and failing
// every attempt as if the server could not be reached.
// The program's http.DefaultClient is its own business: a Timeout set on
// it for the program's other calls does not cut an answer WithTimeout
// allows. Not parallel: it changes the process's http.DefaultClient.
func TestDefaultClientOfTheProgramIsNotUsed(t *testing.T) {
	saved := *http.DefaultClient
	t.Cleanup(func() { *http.DefaultClient = saved })
	http.DefaultClient.Timeout = 50 * time.Millisecond
	srv := startStepsd(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond) // a long stats or export
			h.ServeHTTP(w, r)
		})
	})
	c, err := client.New(srv.URL, client.WithTimeout(10*time.Second), client.WithRetry(client.NoRetry()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
		t.Fatalf("Record within WithTimeout's 10s: %v", err)
	}
}

func TestNewRefusesATokenWithANewline(t *testing.T) {
	t.Parallel()
	_, err := client.New("http://localhost:8080", client.WithToken("ci-secret-1\n"))
	if err == nil || !strings.Contains(err.Error(), "the token holds a control character (U+000A at byte 11)") {
		t.Errorf("New = %v, want the token's newline named", err)
	}
	if _, err := client.New("http://localhost:8080", client.WithToken("ci-secret-1")); err != nil {
		t.Errorf("New with a plain token: %v", err)
	}
}

// TestNewRefusesAUserAgentWithANewline: a user agent net/http would not
// send is refused by New, rather than failing every attempt of every call
// as a server that cannot be reached (and a temporary error at that).
func TestNewRefusesAUserAgentWithANewline(t *testing.T) {
	t.Parallel()
	_, err := client.New("http://localhost:8080", client.WithUserAgent("deploybot/1.4\n"))
	if err == nil || !strings.Contains(err.Error(), "the user agent \"deploybot/1.4\\n\" holds a control character (U+000A at byte 13)") {
		t.Errorf("New = %v, want the user agent's newline named", err)
	}
	for _, ua := range []string{"deploybot/1.4", "deploybot/1.4\t(ci)", "déploiement/1"} {
		if _, err := client.New("http://localhost:8080", client.WithUserAgent(ua)); err != nil {
			t.Errorf("New with user agent %q: %v", ua, err)
		}
	}
}

func TestRecordGetList(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL, client.WithToken("secret"))
	ctx := context.Background()

	t.Run("record returns the stored step", func(t *testing.T) {
		got := mustRecord(t, c, input("api", "1.2.0", "build"))
		want := model.Step{ID: got.ID, Component: "api", Version: "1.2.0", Owner: "ana", Status: "build",
			Environment: "production", Time: t0.Add(time.Second), ReceivedAt: t0.Add(time.Second)}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("explicit time is kept", func(t *testing.T) {
		in := input("api", "1.2.0", "tests")
		in.Time = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
		got := mustRecord(t, c, in)
		if want := time.Date(2026, 3, 1, 11, 0, 0, 123456000, time.UTC); !got.Time.Equal(want) {
			t.Errorf("time = %v, want %v (UTC, microseconds)", got.Time, want)
		}
	})
	t.Run("every request carries the token and JSON", func(t *testing.T) {
		for _, r := range srv.sent("POST /v1/steps") {
			if got := r.Header.Get("Authorization"); got != "Bearer secret" {
				t.Errorf("Authorization = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if r.Header.Get("Idempotency-Key") == "" {
				t.Error("no Idempotency-Key")
			}
		}
	})
	t.Run("get", func(t *testing.T) {
		got, err := c.Get(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != 1 || got.Status != "build" {
			t.Errorf("Get(1) = %+v", got)
		}
	})
	t.Run("list asks for JSON and returns all", func(t *testing.T) {
		steps, err := c.List(ctx, model.Filter{Component: "api"})
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(steps); !slices.Equal(got, []string{"tests", "build"}) {
			t.Errorf("statuses = %v, want [tests build] (time order)", got)
		}
		for _, r := range srv.sent("GET /v1/steps") {
			if f := r.URL.Query().Get("format"); f != "json" {
				t.Errorf("format = %q, want json", f)
			}
		}
	})
	t.Run("empty list is empty, not nil", func(t *testing.T) {
		steps, err := c.List(ctx, model.Filter{Component: "nothing"})
		if err != nil || steps == nil || len(steps) != 0 {
			t.Errorf("List = %v, %v; want [], nil", steps, err)
		}
	})
}

func statuses(steps []model.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Status)
	}
	return out
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()

	t.Run("invalid input names the field", func(t *testing.T) {
		_, err := c.Record(ctx, model.StepInput{Version: "1", Owner: "ana", Status: "build"})
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %#v, want *client.APIError", err)
		}
		if apiErr.StatusCode != 400 || apiErr.Code != model.EINVALID || apiErr.Field != "component" {
			t.Errorf("got %d %s %s, want 400 invalid component", apiErr.StatusCode, apiErr.Code, apiErr.Field)
		}
		var merr *model.Error
		if !errors.As(err, &merr) || merr.Code != model.EINVALID || merr.Field != "component" {
			t.Errorf("errors.As(*model.Error) = %+v", merr)
		}
		if model.ErrorCode(err) != model.EINVALID {
			t.Errorf("model.ErrorCode = %q", model.ErrorCode(err))
		}
		if client.IsTemporary(err) {
			t.Error("a 400 is temporary")
		}
		if n := len(srv.sent("POST /v1/steps")); n != 1 {
			t.Errorf("a 400 was sent %d times, want once", n)
		}
	})
	t.Run("missing step is not_found", func(t *testing.T) {
		_, err := c.Get(ctx, 999)
		if model.ErrorCode(err) != model.ENOTFOUND {
			t.Fatalf("err = %v, want not_found", err)
		}
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !apiErr.FromAPI {
			t.Errorf("err = %#v, want a 404 *APIError from the API", err)
		}
	})
	t.Run("another server's 404 is not the API's", func(t *testing.T) {
		// A URL that reaches another server (here net/http's text 404):
		// the same status and code as a missing step, told apart only
		// by FromAPI.
		other := httptest.NewServer(http.NotFoundHandler())
		defer other.Close()
		_, err := mustClient(t, other.URL).Get(ctx, 1)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.FromAPI {
			t.Errorf("err = %#v, want a 404 *APIError not from the API", err)
		}
	})
	t.Run("a path stepsd has no route for is no_such_endpoint", func(t *testing.T) {
		// A URL with a proxy's prefix reaches stepsd, but none of its
		// routes: no step is missing, and the code says so.
		_, err := mustClient(t, srv.URL+"/steps").Get(ctx, 1)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !apiErr.FromAPI || apiErr.Code != model.ENOENDPOINT {
			t.Fatalf("err = %#v, want a 404 *APIError from the API with code no_such_endpoint", err)
		}
		if model.ErrorCode(err) == model.ENOTFOUND || client.IsTemporary(err) {
			t.Errorf("err = %v reads as a missing step, or as temporary", err)
		}
	})
	t.Run("same key, other payload is unprocessable", func(t *testing.T) {
		key := client.NewIdempotencyKey()
		if _, err := c.RecordWithKey(ctx, key, input("api", "1", "build")); err != nil {
			t.Fatal(err)
		}
		_, err := c.RecordWithKey(ctx, key, input("api", "1", "tests"))
		if model.ErrorCode(err) != model.EUNPROCESSABLE {
			t.Errorf("err = %v, want unprocessable", err)
		}
	})
	t.Run("bad key is refused before sending", func(t *testing.T) {
		_, err := c.RecordWithKey(ctx, "has space", input("api", "1", "build"))
		var apiErr *client.APIError
		if err == nil || errors.As(err, &apiErr) {
			t.Errorf("err = %v, want a local error", err)
		}
	})
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	key := client.NewIdempotencyKey()
	in := input("api", "2.0.0", "rollout")
	in.Time = t0.Add(-time.Hour)
	first, err := c.RecordWithKey(ctx, key, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.RecordWithKey(ctx, key, in)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("replay = %+v, want the first step %+v", again, first)
	}
	if n := srv.count(t); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
}

// dropFirstResponse lets the real handler store the first POST, then
// closes the connection instead of answering: the response is lost after
// the commit, as when a proxy or the network fails at the wrong moment.
func dropFirstResponse(h http.Handler) http.Handler {
	var dropped atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && dropped.CompareAndSwap(false, true) {
			h.ServeHTTP(httptest.NewRecorder(), r)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestLostResponseIsRetriedAndStoredOnce(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t, dropFirstResponse)
	c := mustClient(t, srv.URL)

	step, err := c.Record(context.Background(), input("api", "1.0.0", "migrate"))
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	sent := srv.sent("POST /v1/steps")
	if len(sent) < 2 {
		t.Fatalf("sent %d POSTs, want a retry", len(sent))
	}
	for _, r := range sent[1:] {
		if r.Header.Get("Idempotency-Key") != sent[0].Header.Get("Idempotency-Key") {
			t.Errorf("retry key %q != first key %q", r.Header.Get("Idempotency-Key"), sent[0].Header.Get("Idempotency-Key"))
		}
	}
	if n := srv.count(t); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
	if step.ID != 1 || step.Status != "migrate" {
		t.Errorf("Record returned %+v, want the step stored by the lost attempt", step)
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	url := srv.URL
	srv.Close() // nothing listens there now

	c := mustClient(t, url)
	_, err := c.Record(context.Background(), input("api", "1", "build"))
	var netErr *client.NetError
	if !errors.As(err, &netErr) {
		t.Fatalf("err = %#v, want *client.NetError", err)
	}
	if netErr.Attempts != fast.MaxAttempts {
		t.Errorf("attempts = %d, want %d", netErr.Attempts, fast.MaxAttempts)
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		t.Error("a network error is an *APIError")
	}
	if !client.IsTemporary(err) {
		t.Error("a network error is not temporary")
	}
	if !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("message %q does not say the server cannot be reached", err)
	}
}

// loginPage answers every request with a 200 HTML page, as a proxy's
// login portal or an ingress's default backend does in the server's place.
func loginPage(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Please sign in</body></html>")
	})
}

// TestAnswerNotTheAPIs: a 200 that is not the API's JSON is a
// *ProtocolError naming the URL and what came back, and temporary: the
// step may not be stored, and sent again (with its key) once the path to
// the server is fixed, it is.
func TestAnswerNotTheAPIs(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t, loginPage)
	c := mustClient(t, srv.URL)
	_, err := c.Record(context.Background(), input("api", "1", "build"))
	var protoErr *client.ProtocolError
	if !errors.As(err, &protoErr) {
		t.Fatalf("err = %#v, want *client.ProtocolError", err)
	}
	want := "unexpected response from " + srv.URL + `/v1/steps: 200 OK with a body that is not the API's JSON (Content-Type "text/html; charset=utf-8"): invalid character '<' looking for beginning of value`
	if err.Error() != want {
		t.Errorf("message\n%q, want\n%q", err, want)
	}
	if !client.IsTemporary(err) {
		t.Error("IsTemporary = false: a caller that keeps temporary failures would drop the step")
	}
	if n := len(srv.sent("POST /v1/steps")); n != 1 {
		t.Errorf("sent %d times, want once: a page in the server's place is not retried at once", n)
	}
	_, err = c.List(context.Background(), model.Filter{})
	if !errors.As(err, &protoErr) {
		t.Errorf("List: err = %#v, want *client.ProtocolError", err)
	}
}

// TestRedirectThatWouldDropAWrite: a server URL that answers with a 301
// (http to https, say) would have net/http send each write again as a GET
// without its body, storing nothing. The write fails at once, naming the
// URL to use; reads follow the redirect as before.
func TestRedirectThatWouldDropAWrite(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	t.Cleanup(old.Close)
	for _, hc := range []*http.Client{nil, {Timeout: time.Minute}} {
		opts := []client.Option{}
		if hc != nil {
			opts = append(opts, client.WithHTTPClient(hc))
		}
		c := mustClient(t, old.URL, opts...)
		_, err := c.Record(context.Background(), input("api", "1", "build"))
		want := "unexpected response from " + old.URL + "/v1/steps: it answers POST with a redirect (301 Moved Permanently) to " + srv.URL +
			"/v1/steps, which would send it again as a GET, without its body; use " + srv.URL + " as the server URL"
		if err == nil || err.Error() != want {
			t.Errorf("Record = %v, want\n%s", err, want)
		}
		if client.IsTemporary(err) {
			t.Error("IsTemporary = true: sent again to the same URL, it is redirected again")
		}
		if hc != nil && hc.CheckRedirect != nil {
			t.Error("the caller's http.Client was changed")
		}
		if _, err := c.List(context.Background(), model.Filter{}); err != nil {
			t.Errorf("List through the redirect: %v", err)
		}
	}
	if n := len(srv.sent("GET /v1/steps")); n != 2 {
		t.Errorf("the server got %d GETs of the list, want only the 2 Lists' (no write turned into one)", n)
	}
	if n := srv.count(t); n != 0 {
		t.Errorf("stored %d steps, want 0", n)
	}
}

// flaky answers with the given statuses in turn, then passes requests on.
func flaky(statuses ...int) (func(http.Handler) http.Handler, *atomic.Int32) {
	var n atomic.Int32
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := int(n.Add(1)) - 1
			if i >= len(statuses) {
				h.ServeHTTP(w, r)
				return
			}
			switch statuses[i] {
			case http.StatusTooManyRequests:
				w.Header().Set("Retry-After", "1")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":"slow down","code":"rate_limited"}`)
			default:
				// A proxy's page: not the API's JSON.
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(statuses[i])
				io.WriteString(w, "<html><body>Bad Gateway</body></html>")
			}
		})
	}, &n
}

// cancelAfterAnswer reads a whole answer, then calls cancel: the client
// holds the answer before its context ends.
type cancelAfterAnswer struct {
	next   http.RoundTripper
	cancel context.CancelFunc
}

func (c cancelAfterAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.cancel()
	return resp, nil
}

func TestRetries(t *testing.T) {
	t.Parallel()
	t.Run("502 503 504 then success", func(t *testing.T) {
		t.Parallel()
		wrap, n := flaky(502, 503, 504)
		srv := startStepsd(t, wrap)
		c := mustClient(t, srv.URL)
		if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if got := n.Load(); got != 4 {
			t.Errorf("attempts = %d, want 4", got)
		}
		keys := map[string]bool{}
		for _, r := range srv.sent("POST /v1/steps") {
			keys[r.Header.Get("Idempotency-Key")] = true
		}
		if len(keys) != 1 {
			t.Errorf("retries used %d idempotency keys, want 1", len(keys))
		}
	})
	t.Run("408 then success", func(t *testing.T) {
		// A proxy's request timeout is retried too, as the README says.
		t.Parallel()
		wrap, n := flaky(408)
		srv := startStepsd(t, wrap)
		c := mustClient(t, srv.URL)
		if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if got := n.Load(); got != 2 {
			t.Errorf("attempts = %d, want 2", got)
		}
	})
	t.Run("gives up after MaxAttempts with the proxy's status", func(t *testing.T) {
		t.Parallel()
		wrap, n := flaky(502, 502, 502, 502, 502, 502)
		srv := startStepsd(t, wrap)
		c := mustClient(t, srv.URL)
		_, err := c.Get(context.Background(), 1)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("err = %#v, want *APIError", err)
		}
		if apiErr.StatusCode != 502 || apiErr.Code != model.EUNAVAILABLE {
			t.Errorf("got %d %q, want 502 %q (from api.CodeOf)", apiErr.StatusCode, apiErr.Code, model.EUNAVAILABLE)
		}
		if got := n.Load(); int(got) != fast.MaxAttempts {
			t.Errorf("attempts = %d, want %d", got, fast.MaxAttempts)
		}
		if !client.IsTemporary(err) {
			t.Error("502 is not temporary")
		}
	})
	t.Run("503 with a code this client does not know", func(t *testing.T) {
		// A newer stepsd may name a narrower case of 503 (as
		// no_such_endpoint is of 404): read by its code alone, it was
		// neither retried nor temporary, so stepsctl record failed the
		// deploy and kept no record.
		t.Parallel()
		var n atomic.Int32
		srv := startStepsd(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= 2 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, `{"error":"stepsd is draining for a restart","code":"draining"}`)
					return
				}
				h.ServeHTTP(w, r)
			})
		})
		c := mustClient(t, srv.URL)
		if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if got := n.Load(); got != 3 {
			t.Errorf("attempts = %d, want 3", got)
		}
		n.Store(-100) // every answer from now on is the unknown 503
		_, err := mustClient(t, srv.URL, client.WithRetry(client.NoRetry())).Get(context.Background(), 1)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != model.EUNAVAILABLE || apiErr.Message != "stepsd is draining for a restart" || !apiErr.FromAPI {
			t.Fatalf("err = %#v, want the server's message with code %q", err, model.EUNAVAILABLE)
		}
		if !client.IsTemporary(err) {
			t.Error("a 503 with an unknown code is not temporary")
		}
	})
	t.Run("429 waits for Retry-After", func(t *testing.T) {
		t.Parallel()
		wrap, _ := flaky(429)
		srv := startStepsd(t, wrap)
		c := mustClient(t, srv.URL)
		start := time.Now()
		if _, err := c.Record(context.Background(), input("api", "1", "build")); err != nil {
			t.Fatalf("Record: %v", err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("retried after %v, want at least the 1s of Retry-After", waited)
		}
	})
	t.Run("429s told together come back spread", func(t *testing.T) {
		// Sixteen clients refused at once are all told "Retry-After: 1":
		// retried at exactly that, they would come back together and be
		// refused together again.
		t.Parallel()
		const clients = 16
		wrap, n := flaky(slices.Repeat([]int{http.StatusTooManyRequests}, clients)...)
		var mu sync.Mutex
		var retried []time.Time
		srv := startStepsd(t, wrap, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Load() >= clients {
					mu.Lock()
					retried = append(retried, time.Now())
					mu.Unlock()
				}
				h.ServeHTTP(w, r)
			})
		})
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				c := mustClient(t, srv.URL)
				if _, err := c.Record(context.Background(), input("api", fmt.Sprint(i), "build")); err != nil {
					t.Errorf("Record: %v", err)
				}
			})
		}
		wg.Wait()
		if len(retried) < clients {
			t.Fatalf("%d retries arrived, want %d", len(retried), clients)
		}
		slices.SortFunc(retried, time.Time.Compare)
		if spread := retried[len(retried)-1].Sub(retried[0]); spread < 150*time.Millisecond {
			t.Errorf("the retries arrived within %v of each other, want them spread over up to half a second", spread)
		}
	})
	t.Run("429 beyond the time budget is returned at once", func(t *testing.T) {
		t.Parallel()
		wrap, _ := flaky(429)
		srv := startStepsd(t, wrap)
		p := fast
		p.MaxElapsed = 200 * time.Millisecond
		c := mustClient(t, srv.URL, client.WithRetry(p))
		start := time.Now()
		_, err := c.Record(context.Background(), input("api", "1", "build"))
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != model.ERATELIMITED || apiErr.RetryAfter != time.Second {
			t.Fatalf("err = %#v, want 429 rate_limited with RetryAfter 1s", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %v, want an early give-up", d)
		}
	})
	t.Run("MaxElapsed bounds a hung server", func(t *testing.T) {
		t.Parallel()
		hang := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(hang); srv.Close() })
		p := fast
		p.MaxElapsed = 300 * time.Millisecond
		c := mustClient(t, srv.URL, client.WithRetry(p), client.WithTimeout(100*time.Millisecond))
		start := time.Now()
		_, err := c.Record(context.Background(), input("api", "1", "build"))
		var netErr *client.NetError
		if !errors.As(err, &netErr) {
			t.Fatalf("err = %#v, want *NetError", err)
		}
		if netErr.Attempts < 2 {
			t.Errorf("attempts = %d, want retries after per-attempt timeouts", netErr.Attempts)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v, want about MaxElapsed (300ms)", d)
		}
	})
	t.Run("context cancellation stops retrying", func(t *testing.T) {
		t.Parallel()
		wrap, _ := flaky(503, 503, 503, 503, 503)
		srv := startStepsd(t, wrap)
		p := fast
		p.BaseDelay, p.MaxDelay = time.Second, time.Second
		c := mustClient(t, srv.URL, client.WithRetry(p))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Get(ctx, 1)
		if !errors.Is(err, context.DeadlineExceeded) {
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
				t.Errorf("err = %v, want the deadline or the last 503", err)
			}
		}
	})
	t.Run("a write cut short by the caller's deadline is temporary", func(t *testing.T) {
		// The deploy bot's pattern: record under its own deadline, keep
		// what IsTemporary says may go through later (package spool).
		t.Parallel()
		srv := startStepsd(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					next.ServeHTTP(httptest.NewRecorder(), r) // stored, but no answer comes
					<-r.Context().Done()
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		c := mustClient(t, srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Record(ctx, input("api", "1", "build"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's deadline", err)
		}
		var netErr *client.NetError
		if !errors.As(err, &netErr) || netErr.Attempts != 1 {
			t.Errorf("err = %#v, want it to carry the attempt's *NetError", err)
		}
		if !client.IsTemporary(err) {
			t.Errorf("IsTemporary(%v) = false: a caller keeping temporary failures for later would lose a step that may not be stored", err)
		}
		if got, want := err.Error(), "POST "+srv.URL+"/v1/steps: context deadline exceeded"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})
	t.Run("a deadline that ends the wait after a 503 keeps the answer", func(t *testing.T) {
		t.Parallel()
		wrap, _ := flaky(503, 503, 503, 503, 503)
		srv := startStepsd(t, wrap)
		p := fast
		p.BaseDelay, p.MaxDelay = 150*time.Millisecond, 150*time.Millisecond
		// The cancel comes once the first 503 is in the client's hands, so
		// the wait is what it ends however slow the host.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hc := &http.Client{Transport: cancelAfterAnswer{http.DefaultTransport, cancel}}
		c := mustClient(t, srv.URL, client.WithRetry(p), client.WithHTTPClient(hc))
		_, err := c.Record(ctx, input("api", "1", "build"))
		var apiErr *client.APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v, want the cancellation and the last 503", err)
		}
		if !client.IsTemporary(err) {
			t.Errorf("IsTemporary(%v) = false, want true", err)
		}
		if !strings.Contains(err.Error(), "context canceled (the server last answered: server answered 503 Service Unavailable (HTTP 503 unavailable))") {
			t.Errorf("message %q does not give the server's last answer", err)
		}
	})
	t.Run("a cancel that ends the wait after a refused connection says so", func(t *testing.T) {
		// A caller's Ctrl-C while the client waits to try a server that
		// is down: "context canceled" alone hides that it was down.
		t.Parallel()
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		p := fast
		p.BaseDelay, p.MaxDelay, p.MaxElapsed = 4*time.Second, 4*time.Second, 30*time.Second
		c := mustClient(t, down.URL, client.WithRetry(p))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := c.Record(ctx, input("api", "1", "build"))
		if !errors.Is(err, context.Canceled) || !client.IsTemporary(err) {
			t.Fatalf("err = %v, want the cancellation, temporary", err)
		}
		if !strings.Contains(err.Error(), "context canceled (the last attempt: dial tcp ") || !strings.Contains(err.Error(), "refused") {
			t.Errorf("message %q does not give the last attempt's refused connection", err)
		}
	})
	t.Run("500 and 4xx are not retried", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{500, 404, 409} {
			wrap, n := flaky(status, status)
			srv := startStepsd(t, wrap)
			_, err := mustClient(t, srv.URL).Get(context.Background(), 1)
			if model.ErrorCode(err) != api.CodeOf(status) {
				t.Errorf("%d: code %q, want %q", status, model.ErrorCode(err), api.CodeOf(status))
			}
			if n.Load() != 1 {
				t.Errorf("%d sent %d times, want once", status, n.Load())
			}
		}
	})
}

func TestPaging(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL, client.WithPageSize(10))
	ctx := context.Background()
	for i := range 25 {
		mustRecord(t, c, input("api", fmt.Sprint(i), "build"))
	}
	mustRecord(t, c, input("web", "1", "build"))

	pages := func() int { return len(srv.sent("GET /v1/steps")) }

	t.Run("List fetches every page", func(t *testing.T) {
		before := pages()
		steps, err := c.List(ctx, model.Filter{Component: "api"})
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 25 {
			t.Fatalf("got %d steps, want 25", len(steps))
		}
		for i, s := range steps {
			if s.Version != fmt.Sprint(i) {
				t.Fatalf("step %d is version %s: pages out of order", i, s.Version)
			}
		}
		if got := pages() - before; got != 3 {
			t.Errorf("fetched %d pages, want 3", got)
		}
	})
	t.Run("Limit caps the total", func(t *testing.T) {
		before := pages()
		steps, err := c.List(ctx, model.Filter{Component: "api", Limit: 15, Order: model.OrderDesc})
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 15 || steps[0].Version != "24" {
			t.Errorf("got %d steps starting at %s, want 15 from 24", len(steps), steps[0].Version)
		}
		if got := pages() - before; got != 2 {
			t.Errorf("fetched %d pages, want 2 (10 + 5)", got)
		}
	})
	t.Run("Steps fetches lazily", func(t *testing.T) {
		before := pages()
		n := 0
		for s, err := range c.Steps(ctx, model.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				_ = s
				break
			}
		}
		if got := pages() - before; got != 1 {
			t.Errorf("fetched %d pages for 3 steps, want 1", got)
		}
	})
	t.Run("ListPage returns a cursor", func(t *testing.T) {
		p, err := c.ListPage(ctx, model.Filter{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Steps) != 20 || p.Next == nil {
			t.Fatalf("page of %d, next %v; want 20 and a cursor", len(p.Steps), p.Next)
		}
		p2, err := c.ListPage(ctx, model.Filter{Limit: 20, After: p.Next})
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Steps) != 6 || p2.Next != nil {
			t.Errorf("second page of %d, next %v; want 6 and no cursor", len(p2.Steps), p2.Next)
		}
	})
	t.Run("filters reach the server", func(t *testing.T) {
		since := t0.Add(10 * time.Second)
		until := t0.Add(12 * time.Second)
		steps, err := c.List(ctx, model.Filter{Component: "api", Owner: "ana", Status: "build", Environment: "production", Since: since, Until: until})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range steps {
			got = append(got, s.Version)
		}
		if want := []string{"9", "10", "11"}; !slices.Equal(got, want) {
			t.Errorf("versions = %v, want %v (inclusive bounds)", got, want)
		}
	})
	t.Run("a bad filter is refused locally", func(t *testing.T) {
		_, err := c.List(ctx, model.Filter{Order: "sideways"})
		if model.ErrorCode(err) != model.EINVALID {
			t.Errorf("err = %v, want invalid", err)
		}
	})
}

// TestIterationStopsWhenCancelled: cancelling the context in the middle
// of a page ends Steps and Deployments at the next item with the
// context's error; they went on yielding the rest of the page in hand.
func TestIterationStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL, client.WithPageSize(10))
	var ins []model.StepInput
	for i := range 10 {
		in := input("api", fmt.Sprint(i), "finished")
		in.Time = t0.Add(-time.Duration(i) * time.Minute)
		ins = append(ins, in)
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, each func(ctx context.Context, yield func(error) bool)) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		items := 0
		var last error
		each(ctx, func(err error) bool {
			if err != nil {
				last = err
				return false
			}
			if items++; items == 3 {
				cancel()
			}
			return true
		})
		if items != 3 || !errors.Is(last, context.Canceled) {
			t.Errorf("after cancelling at item 3: %d items, then %v; want 3 items, then context.Canceled", items, last)
		}
	}
	t.Run("Steps", func(t *testing.T) {
		check(t, func(ctx context.Context, yield func(error) bool) {
			for _, err := range c.Steps(ctx, model.Filter{}) {
				if !yield(err) {
					return
				}
			}
		})
	})
	t.Run("Deployments", func(t *testing.T) {
		check(t, func(ctx context.Context, yield func(error) bool) {
			for _, err := range c.Deployments(ctx, model.DeploymentFilter{}) {
				if !yield(err) {
					return
				}
			}
		})
	})
}

func TestRecordBatch(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t, dropFirstResponse)
	c := mustClient(t, srv.URL)
	ctx := context.Background()

	ins := []model.StepInput{input("api", "1", "build"), input("api", "1", "tests"), input("api", "1", "finished")}
	ins[0].Time = t0.Add(-time.Hour).In(time.FixedZone("X", 7200))
	steps, err := c.RecordBatch(ctx, ins)
	if err != nil {
		t.Fatalf("RecordBatch: %v", err)
	}
	if got := statuses(steps); !slices.Equal(got, []string{"build", "tests", "finished"}) {
		t.Errorf("statuses = %v", got)
	}
	if !steps[0].Time.Equal(t0.Add(-time.Hour)) {
		t.Errorf("explicit time %v, want %v", steps[0].Time, t0.Add(-time.Hour))
	}
	// The first answer was lost after the commit; the retry replayed it.
	if n := len(srv.sent("POST /v1/steps/batch")); n < 2 {
		t.Errorf("sent %d batches, want a retry", n)
	}
	if n := srv.count(t); n != 3 {
		t.Errorf("stored %d steps, want 3", n)
	}

	t.Run("invalid rows are all reported and nothing is stored", func(t *testing.T) {
		bad := []model.StepInput{input("api", "2", "build"), {Component: "api", Version: "2", Owner: "ana"}, input("api", "2", strings.Repeat("x", 65))}
		_, err := c.RecordBatch(ctx, bad)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			t.Fatalf("err = %v, want a 400 *APIError", err)
		}
		if len(apiErr.Rows) != 2 || apiErr.Rows[0].Row != 2 || apiErr.Rows[0].Field != "status" || apiErr.Rows[1].Row != 3 {
			t.Errorf("rows = %+v, want rows 2 and 3", apiErr.Rows)
		}
		if n := srv.count(t); n != 3 {
			t.Errorf("stored %d steps, want still 3", n)
		}
	})
}

// TestNewIdempotencyKey: keys are random enough never to repeat in a run
// and always pass the server's header rule.
func TestNewIdempotencyKey(t *testing.T) {
	seen := map[string]bool{}
	for range 10_000 {
		key := client.NewIdempotencyKey()
		if err := model.ValidateIdempotencyKey(key); err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		if len(key) < 26 {
			t.Fatalf("key %q: %d characters, want at least 26 (128 random bits)", key, len(key))
		}
		if seen[key] {
			t.Fatalf("key %q repeated", key)
		}
		seen[key] = true
	}
}

// TestRevisionAndCommittedAt: the client sends a step's revision and
// commit time, alone and in a batch, and reads them back in steps, lists
// and deployments.
func TestRevisionAndCommittedAt(t *testing.T) {
	s := startStepsd(t)
	c := mustClient(t, s.URL)
	ctx := context.Background()
	committed := time.Date(2026, 3, 1, 18, 0, 0, 500000000, time.FixedZone("CET", 3600))
	in := input("api", "1.0", "build")
	in.Revision, in.CommittedAt = "9f1c2e7", committed
	st := mustRecord(t, c, in)
	if st.Revision != "9f1c2e7" || st.CommittedAt == nil || !st.CommittedAt.Equal(committed) {
		t.Fatalf("Record = %+v", st)
	}
	in.Status, in.Revision = "finished", "a0b1c2d"
	if _, err := c.RecordBatch(ctx, []model.StepInput{in}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, st.ID)
	if err != nil || got.Revision != "9f1c2e7" || got.CommittedAt == nil || !got.CommittedAt.Equal(committed) {
		t.Errorf("Get = %+v, %v", got, err)
	}
	page, err := c.ListPage(ctx, model.Filter{})
	if err != nil || len(page.Steps) != 2 || page.Steps[1].Revision != "a0b1c2d" {
		t.Errorf("ListPage = %+v, %v", page.Steps, err)
	}
	for d, err := range c.Deployments(ctx, model.DeploymentFilter{}) {
		if err != nil || d.Revision != "a0b1c2d" || d.CommittedAt == nil || !d.CommittedAt.Equal(committed) {
			t.Errorf("deployment %+v, %v", d, err)
		}
	}
}

// TestWrongScheme: a server URL whose scheme is not the server's fails
// with a message that names the scheme to use. An https:// URL of a
// plain-HTTP stepsd is not retried: every attempt gets the same answer.
func TestWrongScheme(t *testing.T) {
	t.Parallel()
	t.Run("https URL of a plain-HTTP server", func(t *testing.T) {
		srv := startStepsd(t)
		c := mustClient(t, strings.Replace(srv.URL, "http://", "https://", 1))
		_, err := c.Record(context.Background(), input("api", "1", "build"))
		var netErr *client.NetError
		if !errors.As(err, &netErr) {
			t.Fatalf("err = %#v, want *client.NetError", err)
		}
		if netErr.Attempts != 1 {
			t.Errorf("attempts = %d, want 1: the same answer comes every time", netErr.Attempts)
		}
		if !errors.Is(err, http.ErrSchemeMismatch) || !strings.Contains(err.Error(), "use http:// in the server URL") {
			t.Errorf("message %q does not say to use http://", err)
		}
		if !client.IsTemporary(err) {
			t.Error("IsTemporary = false: a caller that keeps temporary failures would drop the step")
		}
	})
	t.Run("http URL of a TLS server", func(t *testing.T) {
		st := testdb.Open(t, testdb.SQLite(t))
		srv := httptest.NewTLSServer(server.New(server.Config{Store: st}))
		t.Cleanup(srv.Close)
		c := mustClient(t, strings.Replace(srv.URL, "https://", "http://", 1))
		_, err := c.Record(context.Background(), input("api", "1", "build"))
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.FromAPI {
			t.Fatalf("err = %#v, want an *client.APIError not from the API", err)
		}
		want := "server answered 400 Bad Request: Client sent an HTTP request to an HTTPS server. (use https:// in the server URL)"
		if apiErr.Message != want {
			t.Errorf("message\n%q, want\n%q", apiErr.Message, want)
		}
	})
}

// TestInvalidUTF8IsRefusedNotReplaced: a text field that is not valid
// UTF-8 is refused as the server refuses it, naming the field, and not
// sent: encoding/json would have sent U+FFFD for the bad byte, and the
// server stored that in place of the caller's value.
func TestInvalidUTF8IsRefusedNotReplaced(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	bad := input("api", "1", "build")
	bad.Environment = "prod\xff"

	t.Run("Record", func(t *testing.T) {
		_, err := c.Record(ctx, bad)
		var merr *model.Error
		if !errors.As(err, &merr) || merr.Code != model.EINVALID || merr.Field != "environment" {
			t.Fatalf("err = %v, want an EINVALID *model.Error naming environment", err)
		}
	})
	t.Run("RecordWithKey", func(t *testing.T) {
		in := bad
		in.Environment, in.Owner = "production", "an\xc3a"
		_, err := c.RecordWithKey(ctx, client.NewIdempotencyKey(), in)
		if got := model.ErrorCode(err); got != model.EINVALID {
			t.Fatalf("err = %v (code %q), want %q", err, got, model.EINVALID)
		}
	})
	t.Run("RecordBatch lists the rows", func(t *testing.T) {
		_, err := c.RecordBatch(ctx, []model.StepInput{input("api", "1", "build"), bad})
		var berr *model.BatchError
		if !errors.As(err, &berr) || len(berr.Rows) != 1 || berr.Rows[0].Row != 2 || berr.Rows[0].Field != "environment" {
			t.Fatalf("err = %v, want a *model.BatchError naming row 2's environment", err)
		}
		if got := model.ErrorCode(err); got != model.EINVALID {
			t.Errorf("code = %q, want %q", got, model.EINVALID)
		}
	})
	if n := len(srv.sent("POST /v1/steps")) + len(srv.sent("POST /v1/steps/batch")); n != 0 {
		t.Errorf("sent %d requests, want none", n)
	}
	if n := srv.count(t); n != 0 {
		t.Errorf("stored %d steps, want none", n)
	}
}

// TestPasswordInServerURLIsNotShown: a server URL with a password (basic
// auth for a proxy in front of stepsd) is used as given, but no error
// shows the password: error lines end up in CI logs.
func TestPasswordInServerURLIsNotShown(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pass"
	withPassword := func(raw string) string { return strings.Replace(raw, "http://", "http://ci:"+secret+"@", 1) }
	srv := startStepsd(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); !ok || user != "ci" || pass != secret {
				http.Error(w, "proxy authentication required", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	if _, err := mustClient(t, withPassword(srv.URL)).Record(ctx, input("api", "1", "build")); err != nil {
		t.Fatalf("Record through basic auth: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	login := startStepsd(t, loginPage)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere"+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	t.Cleanup(moved.Close)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server sees the client go
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	for name, base := range map[string]string{"down": down.URL, "login page": login.URL, "redirect": moved.URL, "context": hung.URL} {
		c := mustClient(t, withPassword(base))
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := c.Record(ctx, input("api", "1", "build"))
		cancel()
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("%s: err = %v; want an error showing the password as xxxxx", name, err)
		}
	}
	if _, err := client.New(withPassword("http://host?x=1")); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("New with a query: %v; want an error without the password", err)
	}
	// URLs that do not parse at all: a bad port, a space in the host.
	for _, raw := range []string{"http://host:80x", "http://ho st/prefix", "http://host:80x/a@b"} {
		if _, err := client.New(withPassword(raw)); err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("New(%q with a password): %v; want an error showing it as xxxxx", raw, err)
		}
	}
}

// TestSinceBetweenMicroseconds: steps are stored to the microsecond, so a
// Since between two starts at the later one: Since is inclusive, and a
// step before it is not listed (a poll from the last step's time plus a
// nanosecond does not get that step again).
func TestSinceBetweenMicroseconds(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	first, second := input("api", "1", "build"), input("api", "1", "tests")
	first.Time, second.Time = t0, t0.Add(time.Microsecond)
	if _, err := c.RecordBatch(ctx, []model.StepInput{first, second}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    model.Filter
		want []string
	}{
		{"a nanosecond after the first", model.Filter{Since: t0.Add(time.Nanosecond)}, []string{"tests"}},
		{"between, with an Until", model.Filter{Since: t0.Add(500 * time.Nanosecond), Until: t0.Add(1500 * time.Nanosecond)}, []string{"tests"}},
		{"on the first", model.Filter{Since: t0}, []string{"build", "tests"}},
	} {
		steps, err := c.List(ctx, tc.f)
		if got := statuses(steps); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: List = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		ds, err := c.ListDeployments(ctx, model.DeploymentFilter{Filter: tc.f})
		if wantN := len(tc.want) / 2; err != nil || len(ds) != wantN {
			t.Errorf("%s: ListDeployments = %d, %v; want %d (the deployment starts at the first)", tc.name, len(ds), err, wantN)
		}
	}
	// Within one microsecond: rounded up, Since would pass Until, and the
	// server would refuse the range.
	if _, err := c.List(ctx, model.Filter{Since: t0.Add(300 * time.Nanosecond), Until: t0.Add(700 * time.Nanosecond)}); err != nil {
		t.Errorf("Since and Until within one microsecond: %v", err)
	}
}

// TestTokenCopiedWithItsSchemeIsSentOnce: a token given as "Bearer X"
// (copied from a curl line) goes out as "Bearer X", not "Bearer Bearer
// X", which the server refused as a token that is not valid.
func TestTokenCopiedWithItsSchemeIsSentOnce(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	for _, token := range []string{"Bearer ci-secret-1", "bearer ci-secret-1", "BEARER  ci-secret-1", "ci-secret-1"} {
		c := mustClient(t, srv.URL, client.WithToken(token))
		if _, err := c.List(context.Background(), model.Filter{Component: token}); err != nil {
			t.Fatalf("List with token %q: %v", token, err)
		}
	}
	for _, r := range srv.sent("GET /v1/steps") {
		if got := r.Header.Get("Authorization"); got != "Bearer ci-secret-1" {
			t.Errorf("Authorization = %q, want %q", got, "Bearer ci-secret-1")
		}
	}
	if n := len(srv.sent("GET /v1/steps")); n != 4 {
		t.Errorf("%d lists sent, want 4", n)
	}
}

// TestServerURLOfTheAPIRootRecords: a server URL given as the API's root
// (…/v1, as its paths read) records, where it asked for /v1/v1/steps, a
// 404 that a deploy script's stepsctl record does not spool.
func TestServerURLOfTheAPIRootRecords(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	// …/v1/steps is the URL the docs' curl examples use.
	bases := []string{srv.URL + "/v1", srv.URL + "/v1/", srv.URL + "/v1/steps"}
	for _, base := range bases {
		if _, err := mustClient(t, base).Record(context.Background(), input("api", "1.2.0", "build")); err != nil {
			t.Errorf("Record through %q: %v", base, err)
		}
	}
	if n := len(srv.sent("POST /v1/steps")); n != len(bases) {
		t.Errorf("%d records reached POST /v1/steps, want %d", n, len(bases))
	}
}
