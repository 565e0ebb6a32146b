package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// heldAnalyses is a real store whose reads of deployments for an analysis
// wait until released, as a long analysis over a big history runs.
type heldAnalyses struct {
	Store
	entered atomic.Int32
	release chan struct{}
}

func (h *heldAnalyses) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	h.entered.Add(1)
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.EachDeploymentPassing(ctx, f, rules, now, fn)
}

// waitFor polls cond until it holds, failing t after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}

// queued is how many analyses wait for a turn.
func (s *Server) queued() int {
	s.analyses.mu.Lock()
	defer s.analyses.mu.Unlock()
	return s.analyses.waiters
}

type gateAnswer struct {
	status int
	header http.Header
	body   string
}

func fetchAsync(url string) <-chan gateAnswer { return fetchWith(http.DefaultClient, url) }

// fetchWith asks c for url in the background; the answer comes on the
// channel (status -1 when there is none).
func fetchWith(c *http.Client, url string) <-chan gateAnswer {
	out := make(chan gateAnswer, 1)
	go func() {
		res, err := c.Get(url)
		if err != nil {
			out <- gateAnswer{status: -1, body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		out <- gateAnswer{res.StatusCode, res.Header, string(b)}
	}()
	return out
}

func recvAnswer(t *testing.T, ch <-chan gateAnswer) gateAnswer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer in 20 s")
		return gateAnswer{}
	}
}

func recordOne(t *testing.T, url, version string) int {
	t.Helper()
	res, err := http.Post(url+"/v1/steps", "application/json",
		strings.NewReader(`{"component":"api","version":"`+version+`","owner":"ana","status":"success"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// startHeldAnalysis serves a store whose analyses are held (heldAnalyses)
// with one analysis at once and wait, records a step, and sends a stats
// request that it waits to see held in the store: the analysis in
// progress the test queues others behind. release lets the held analyses
// go (once; the test's cleanup calls it too).
func startHeldAnalysis(t *testing.T, fresh func(testing.TB) string, wait time.Duration) (s *Server, srv *httptest.Server, held *heldAnalyses, first <-chan gateAnswer, release func()) {
	t.Helper()
	held = &heldAnalyses{Store: testdb.Open(t, fresh(t)), release: make(chan struct{})}
	s = New(Config{Store: held, MaxAnalyses: 1, AnalysisWait: wait})
	srv = httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(held.release) }) }
	t.Cleanup(release)
	if c := recordOne(t, srv.URL, "1"); c != http.StatusCreated {
		t.Fatalf("record = %d, want 201", c)
	}
	first = fetchAsync(srv.URL + "/v1/stats")
	waitFor(t, "the first analysis reaching the store", func() bool { return held.entered.Load() == 1 })
	return s, srv, held, first, release
}

// One client within its rate limit and its 16 list slots kept 16 analyses
// computing at once, and on 2 cores every other client's writes and
// /readyz waited behind them (write p99 8 ms → 850 ms). With
// MaxAnalyses 1, a second analysis waits for the first, first come first
// served, while writes and probes are served; each runs once its turn
// comes.
func TestAnalysesWaitTheirTurnWhileWritesAreServed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s, srv, held, first, release := startHeldAnalysis(t, fresh, time.Minute)
		var rest []<-chan gateAnswer
		for i, path := range []string{"/v1/dora", "/v1/changes", "/"} {
			rest = append(rest, fetchAsync(srv.URL+path))
			waitFor(t, path+" queued", func() bool { return s.queued() == i+1 })
		}
		if n := held.entered.Load(); n != 1 {
			t.Fatalf("%d analyses reached the store with MaxAnalyses 1, want 1", n)
		}

		// Writes and probes are not analyses: served while three wait.
		for i := range 3 {
			if c := recordOne(t, srv.URL, string(rune('2'+i))); c != http.StatusCreated {
				t.Errorf("a write while analyses wait = %d, want 201", c)
			}
		}
		for _, path := range []string{"/readyz", "/v1/deployments?limit=10", "/v1/steps?limit=10"} {
			if a := recvAnswer(t, fetchAsync(srv.URL+path)); a.status != http.StatusOK {
				t.Errorf("GET %s while analyses wait = %d %s, want 200", path, a.status, a.body)
			}
		}
		if n, q := held.entered.Load(), s.queued(); n != 1 || q != 3 {
			t.Fatalf("after the writes: %d analyses in the store and %d queued, want 1 and 3", n, q)
		}

		release()
		if a := recvAnswer(t, first); a.status != http.StatusOK {
			t.Errorf("first analysis = %d %s, want 200", a.status, a.body)
		}
		for i, ch := range rest {
			if a := recvAnswer(t, ch); a.status != http.StatusOK {
				t.Errorf("queued analysis %d = %d %s, want 200", i, a.status, a.body)
			}
		}
		if n := held.entered.Load(); n < 4 {
			t.Errorf("%d analyses reached the store, want all 4", n)
		}
		if q := s.queued(); q != 0 {
			t.Errorf("%d still queued", q)
		}
	})
}

// An analysis that finds no turn within AnalysisWait gets 503 unavailable
// with Retry-After (which pkg/client and stepsctl retry), the page its
// HTML 503; a timeline leaves out the dashboard's colours rather than
// wait; and the slots are whole again once the analysis in progress ends.
func TestAnalysisPastItsWaitIsUnavailable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		_, srv, held, first, release := startHeldAnalysis(t, fresh, 20*time.Millisecond)

		for _, path := range []string{"/v1/stats", "/v1/dora", "/v1/changes?format=csv"} {
			a := recvAnswer(t, fetchAsync(srv.URL+path))
			if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" ||
				!strings.Contains(a.body, `"code":"unavailable"`) || !strings.Contains(a.body, "--max-analyses") {
				t.Errorf("GET %s past its wait = %d Retry-After %q %s, want 503 unavailable with Retry-After naming --max-analyses",
					path, a.status, a.header.Get("Retry-After"), a.body)
			}
		}
		if a := recvAnswer(t, fetchAsync(srv.URL+"/")); a.status != http.StatusServiceUnavailable ||
			a.header.Get("Retry-After") == "" || !strings.Contains(a.header.Get("Content-Type"), "text/html") {
			t.Errorf("page past its wait = %d Retry-After %q %s, want an HTML 503 with Retry-After",
				a.status, a.header.Get("Retry-After"), a.header.Get("Content-Type"))
		}
		if a := recvAnswer(t, fetchAsync(srv.URL+"/ui/deployment?component=api&version=1&environment=")); a.status != http.StatusOK {
			t.Errorf("timeline while busy = %d, want 200 (without colours)", a.status)
		}
		if n := held.entered.Load(); n != 1 {
			t.Errorf("%d analyses reached the store, want 1: those refused must not run", n)
		}

		release()
		if a := recvAnswer(t, first); a.status != http.StatusOK {
			t.Errorf("first analysis = %d %s, want 200", a.status, a.body)
		}
		for _, path := range []string{"/v1/stats", "/v1/dora", "/v1/changes", "/"} {
			if a := recvAnswer(t, fetchAsync(srv.URL+path)); a.status != http.StatusOK {
				t.Errorf("GET %s once free = %d %s, want 200", path, a.status, a.body)
			}
		}
	})
}
