package spool_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/client/spool"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

var fast = client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 5 * time.Second}

// t0 is the servers' clock; spooled steps happened an hour earlier.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type stepsd struct {
	*httptest.Server
	store *store.Store
	mu    sync.Mutex
	posts map[string]int // POSTs per idempotency key
}

func startStepsd(t *testing.T, wrap ...func(http.Handler) http.Handler) *stepsd {
	t.Helper()
	s := &stepsd{store: testdb.Open(t, testdb.SQLite(t)), posts: map[string]int{}}
	var h http.Handler = server.New(server.Config{Store: s.store, Now: func() time.Time { return t0 }})
	for _, w := range wrap {
		h = w(h)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			s.mu.Lock()
			s.posts[r.Header.Get("Idempotency-Key")]++
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stepsd) steps(t *testing.T) []model.Step {
	t.Helper()
	var out []model.Step
	if _, err := s.store.ListSteps(context.Background(), model.Filter{}, func(st model.Step) error {
		out = append(out, st)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustClient(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustOpen(t *testing.T, dir string) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func entry(server, status string, at time.Time) spool.Entry {
	return spool.Entry{
		Key:    client.NewIdempotencyKey(),
		Server: server,
		Input:  model.StepInput{Component: "api", Version: "1.0.0", Owner: "ana", Status: status, Time: at},
	}
}

func mustAppend(t *testing.T, sp *spool.Spool, e spool.Entry) {
	t.Helper()
	if _, err := sp.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func TestDeliverInOrderWithOriginalTimes(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	sp := mustOpen(t, t.TempDir())
	ctx := context.Background()

	at := t0.Add(-time.Hour)
	for i, status := range []string{"build", "tests", "rollout"} {
		mustAppend(t, sp, entry(c.BaseURL(), status, at.Add(time.Duration(i)*time.Minute)))
	}
	if es, _ := sp.Entries(ctx); len(es) != 3 {
		t.Fatalf("spool holds %d entries, want 3", len(es))
	}

	res, err := sp.Deliver(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 3 || res.Remaining != 0 {
		t.Errorf("result %+v, want 3 delivered, 0 remaining", res)
	}
	steps := srv.steps(t)
	if len(steps) != 3 {
		t.Fatalf("stored %d steps, want 3", len(steps))
	}
	for i, s := range steps {
		if want := at.Add(time.Duration(i) * time.Minute); !s.Time.Equal(want) {
			t.Errorf("step %d time %v, want its original time %v", i, s.Time, want)
		}
		if !s.ReceivedAt.Equal(t0) {
			t.Errorf("step %d received_at %v, want the delivery time %v", i, s.ReceivedAt, t0)
		}
	}
	if _, err := os.Stat(sp.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file still there after delivering everything: %v", err)
	}

	// Delivering again sends nothing.
	res, err = sp.Deliver(ctx, c)
	if err != nil || res.Delivered != 0 {
		t.Errorf("second Deliver = %+v, %v; want nothing to do", res, err)
	}
}

func TestServerDownKeepsEntries(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	url := srv.URL
	srv.Close()
	c := mustClient(t, url)
	sp := mustOpen(t, t.TempDir())
	mustAppend(t, sp, entry(c.BaseURL(), "build", t0))
	mustAppend(t, sp, entry(c.BaseURL(), "tests", t0))

	res, err := sp.Deliver(context.Background(), c)
	var netErr *client.NetError
	if !errors.As(err, &netErr) {
		t.Fatalf("err = %v, want a *client.NetError", err)
	}
	if want := "spooled record api 1.0.0 build at 2026-03-02 09:00:00 UTC: cannot reach "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want it to name the record as %q", err, want)
	}
	if res.Delivered != 0 || res.Remaining != 2 {
		t.Errorf("result %+v, want 2 remaining", res)
	}
}

func TestTornLastLineIsTolerated(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	sp := mustOpen(t, t.TempDir())
	mustAppend(t, sp, entry(c.BaseURL(), "build", t0))

	// A crash in the middle of a write leaves half a line, no newline.
	f, err := os.OpenFile(sp.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"key":"3f1c","server":"` + c.BaseURL() + `","input":{"comp`)
	f.Close()

	mustAppend(t, sp, entry(c.BaseURL(), "tests", t0))
	res, err := sp.Deliver(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 2 || res.Dropped != 1 {
		t.Errorf("result %+v, want 2 delivered and the torn line dropped", res)
	}
	if got := len(srv.steps(t)); got != 2 {
		t.Errorf("stored %d steps, want 2", got)
	}
}

func TestOtherServersEntriesStay(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	sp := mustOpen(t, t.TempDir())
	mustAppend(t, sp, entry("http://elsewhere:8080", "build", t0))
	mustAppend(t, sp, entry(c.BaseURL(), "build", t0))

	res, err := sp.Deliver(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || res.Remaining != 1 {
		t.Errorf("result %+v, want 1 delivered and 1 left for the other server", res)
	}
	if want := map[string]int{"http://elsewhere:8080": 1}; !reflect.DeepEqual(res.Others, want) {
		t.Errorf("others %v, want %v", res.Others, want)
	}
	es, _ := sp.Entries(context.Background())
	if len(es) != 1 || es[0].Server != "http://elsewhere:8080" {
		t.Errorf("left %+v", es)
	}
}

func TestRejectedEntriesMoveAside(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	sp := mustOpen(t, t.TempDir())
	bad := entry(c.BaseURL(), strings.Repeat("x", model.MaxStatusLen+1), t0)
	mustAppend(t, sp, bad)
	mustAppend(t, sp, entry(c.BaseURL(), "build", t0))

	res, err := sp.Deliver(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || len(res.Rejected) != 1 || res.Rejected[0].Entry.Key != bad.Key {
		t.Fatalf("result %+v, want 1 delivered, the bad one rejected", res)
	}
	if model.ErrorCode(res.Rejected[0].Err) != model.EINVALID {
		t.Errorf("rejection error %v, want invalid", res.Rejected[0].Err)
	}
	b, err := os.ReadFile(sp.RejectedPath())
	if err != nil || !strings.Contains(string(b), bad.Key) {
		t.Errorf("rejected file = %q, %v; want the bad entry", b, err)
	}
}

// TestCommittedBeforeSpooling covers a record whose first attempt was
// stored but whose response was lost, after which the server went down, so
// it was spooled (now with an explicit time). Its delivery must not store
// it a second time.
func TestCommittedBeforeSpooling(t *testing.T) {
	t.Parallel()
	var down, lost atomic.Bool
	srv := startStepsd(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			if r.Method == http.MethodPost && lost.CompareAndSwap(false, true) {
				down.Store(true)
				h.ServeHTTP(httptest.NewRecorder(), r) // stored; answer lost
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	e := entry(c.BaseURL(), "build", time.Time{})
	_, err := c.RecordWithKey(ctx, e.Key, e.Input)
	if !client.IsTemporary(err) {
		t.Fatalf("Record = %v, want a temporary failure", err)
	}
	e.Input.Time = t0.Add(-time.Minute)
	sp := mustOpen(t, t.TempDir())
	mustAppend(t, sp, e)

	down.Store(false)
	res, err := sp.Deliver(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || res.Remaining != 0 {
		t.Errorf("result %+v, want it counted as delivered", res)
	}
	if got := len(srv.steps(t)); got != 1 {
		t.Errorf("stored %d steps, want 1", got)
	}
}

// TestFullDeploymentIsRejectedNotDelivered: a 422 that is not about the
// key (a deployment that already holds model.MaxDeploymentSteps steps
// refuses one more) refuses the record itself. It is moved aside and
// reported, not counted as delivered and forgotten, and the records after
// it still go out.
func TestFullDeploymentIsRejectedNotDelivered(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	ctx := context.Background()
	// A deployment of api 1.0.0 that polled until it was full.
	for b := 0; b < model.MaxDeploymentSteps/10000; b++ {
		ins := make([]model.StepInput, 10000)
		for i := range ins {
			ins[i] = model.StepInput{Component: "api", Version: "1.0.0", Owner: "ana", Status: "poll",
				Time: t0.Add(-2 * time.Hour).Add(time.Duration(b*10000+i) * time.Millisecond)}
		}
		if _, _, err := srv.store.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	c := mustClient(t, srv.URL)
	sp := mustOpen(t, t.TempDir())
	full := entry(c.BaseURL(), "tests", t0.Add(-time.Hour))
	mustAppend(t, sp, full)
	next := entry(c.BaseURL(), "build", t0)
	next.Input.Version = "1.0.1"
	mustAppend(t, sp, next)

	res, err := sp.Deliver(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || len(res.Rejected) != 1 || res.Rejected[0].Entry.Key != full.Key || res.Remaining != 0 {
		t.Fatalf("result %+v, want the refused record rejected and the next one delivered", res)
	}
	if model.ErrorCode(res.Rejected[0].Err) != model.EUNPROCESSABLE {
		t.Errorf("rejection error %v, want unprocessable", res.Rejected[0].Err)
	}
	b, err := os.ReadFile(sp.RejectedPath())
	if err != nil || !strings.Contains(string(b), full.Key) {
		t.Errorf("rejected file = %q, %v; want the refused entry", b, err)
	}
	steps := srv.steps(t)
	if last := steps[len(steps)-1]; len(steps) != model.MaxDeploymentSteps+1 || last.Version != "1.0.1" {
		t.Errorf("stored %d steps, the last %+v; want the full deployment and 1.0.1's build", len(steps), last)
	}
}

// TestConcurrentDeliveriesSendEachOnce runs deliveries from separate spool
// handles at once, as two stepsctl processes would: the lock makes each
// record go out once.
func TestConcurrentDeliveriesSendEachOnce(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	dir := t.TempDir()
	const n = 20
	for i := range n {
		mustAppend(t, mustOpen(t, dir), entry(c.BaseURL(), fmt.Sprint("s", i), t0))
	}

	var wg sync.WaitGroup
	var delivered atomic.Int32
	for range 4 {
		wg.Go(func() {
			res, err := mustOpen(t, dir).Deliver(context.Background(), c)
			if err != nil {
				t.Error(err)
			}
			delivered.Add(int32(res.Delivered))
		})
	}
	wg.Wait()
	if delivered.Load() != n {
		t.Errorf("delivered %d in all, want %d", delivered.Load(), n)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.posts) != n {
		t.Errorf("%d keys posted, want %d", len(srv.posts), n)
	}
	for key, count := range srv.posts {
		if count != 1 {
			t.Errorf("key %s posted %d times, want once", key, count)
		}
	}
}

func TestTryDeliverWhenBusy(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv := startStepsd(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			h.ServeHTTP(w, r)
		})
	})
	c := mustClient(t, srv.URL)
	dir := t.TempDir()
	mustAppend(t, mustOpen(t, dir), entry(c.BaseURL(), "build", t0))

	done := make(chan error)
	go func() {
		_, err := mustOpen(t, dir).Deliver(context.Background(), c)
		done <- err
	}()
	<-entered // the first delivery holds the lock, waiting on the server
	if _, err := mustOpen(t, dir).TryDeliver(context.Background(), c); !errors.Is(err, spool.ErrBusy) {
		t.Errorf("TryDeliver = %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentAppendsKeepEveryLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := mustOpen(t, dir).Append(context.Background(), entry("http://h", fmt.Sprint(i), t0)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	es, err := mustOpen(t, dir).Entries(context.Background())
	if err != nil || len(es) != n {
		t.Errorf("Entries = %d, %v; want %d", len(es), err, n)
	}
}

func TestAppendNeedsKeyServerAndTime(t *testing.T) {
	sp := mustOpen(t, t.TempDir())
	for _, e := range []spool.Entry{
		{Server: "http://h", Input: model.StepInput{Time: t0}},
		{Key: "k", Input: model.StepInput{Time: t0}},
		{Key: "k", Server: "http://h"},
	} {
		if _, err := sp.Append(context.Background(), e); err == nil {
			t.Errorf("Append(%+v) accepted", e)
		}
	}
}

// TestSpoolKeepsRevisionAndCommittedAt: a record kept offline is
// delivered with the revision and commit time it was made with, read back
// from the file by another Spool (another stepsctl process).
func TestSpoolKeepsRevisionAndCommittedAt(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	dir := t.TempDir()
	ctx := context.Background()
	committed := t0.Add(-3*time.Hour + 123456*time.Microsecond)
	e := entry(c.BaseURL(), "build", t0.Add(-time.Hour))
	e.Input.Revision, e.Input.CommittedAt = "9f1c2e7d", committed
	mustAppend(t, mustOpen(t, dir), e)
	if _, err := mustOpen(t, dir).Deliver(ctx, c); err != nil {
		t.Fatal(err)
	}
	steps := srv.steps(t)
	if len(steps) != 1 || steps[0].Revision != "9f1c2e7d" || steps[0].CommittedAt == nil || !steps[0].CommittedAt.Equal(committed) {
		t.Errorf("delivered %+v", steps)
	}
}

// A server URL with basic auth (for a proxy in front of stepsd) keeps its
// password out of the spool file, a file at rest; the record is delivered
// with the credentials of the call that delivers it.
func TestSpoolKeepsNoPassword(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	withAuth := strings.Replace(srv.URL, "http://", "http://ana:s3cret@", 1)
	dir := t.TempDir()
	sp := mustOpen(t, dir)
	mustAppend(t, sp, entry(mustClient(t, withAuth).BaseURL(), "build", t0.Add(-time.Hour)))
	mustAppend(t, sp, entry("http://bo:hunter2@elsewhere:8080", "build", t0))

	data, err := os.ReadFile(sp.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret", "hunter2"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the spool file holds the password %q:\n%s", secret, data)
		}
	}

	other := strings.Replace(srv.URL, "http://", "http://ana:rotated@", 1)
	res, err := sp.Deliver(context.Background(), mustClient(t, other))
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 1 || len(srv.steps(t)) != 1 {
		t.Errorf("result %+v and %d stored steps, want the record delivered under the deliverer's credentials", res, len(srv.steps(t)))
	}
	if want := map[string]int{"http://elsewhere:8080": 1}; !reflect.DeepEqual(res.Others, want) {
		t.Errorf("others %v, want %v (no password)", res.Others, want)
	}
}
