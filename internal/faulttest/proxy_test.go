package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// proxy forwards TCP connections to a target and can cut them all, and
// refuse new ones, until restored: a network failure between stepsd and
// proxiedDatabase migrates a fresh MySQL database and returns a proxy in
// front of it, the database's own DSN (to check what was stored, past the
// proxy) and its DSN through the proxy, carrying the driver options of
// query.
func proxiedDatabase(t *testing.T, query string) (px *proxy, direct, proxied string) {
	t.Helper()
	direct = testdb.MySQL(t)
	migrate(t, direct)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	px = startProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	u.RawQuery = query
	return px, direct, u.String()
}

// its database, without touching the shared database server.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	// thawed is closed while bytes flow; freeze replaces it with an open
	// channel that pipes wait on.
	thawed chan struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}, thawed: make(chan struct{})}
	close(p.thawed)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.thaw(); p.sever() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// sever cuts every connection and refuses new ones.
func (p *proxy) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// freeze holds every byte in either direction, connections open, as a
// database that stops answering (mariadbd under SIGSTOP, a full disk, a
// network that drops packets): the kernel still takes what stepsd sends.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default:
	}
}

// thaw lets the held bytes, and those after, through.
func (p *proxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// TestDatabaseSeveredUnderLoad cuts the connection between stepsd and
// MariaDB mid-load, then restores it: no 2xx is ever sent for a record that
// was not stored, writes fail with 503 meanwhile, /readyz says so, and
// stepsd recovers by itself, without a restart.
func TestDatabaseSeveredUnderLoad(t *testing.T) {
	px, direct, proxied := proxiedDatabase(t, "timeout=2s&readTimeout=5s&writeTimeout=5s")
	d := startDaemon(t, proxied)
	base := "http://" + d.addr

	type answer struct {
		status int
		id     int64
		phase  int32
	}
	var phase atomic.Int32 // 0 before the cut, 1 during, 2 after
	var mu sync.Mutex
	answers := map[string]answer{}
	stop := make(chan struct{})
	hc := &http.Client{Timeout: 20 * time.Second}
	wg := postSteps(t, hc, base, "sever", 16, stop, func(status string, code int, id int64, _ time.Time) {
		mu.Lock()
		answers[status] = answer{code, id, phase.Load()}
		mu.Unlock()
	})
	ready := func() int { return readyz(base) }
	time.Sleep(time.Second)
	phase.Store(1)
	px.sever()
	waitFor(t, "/readyz to fail while the database is cut off", func() bool { return ready() == http.StatusServiceUnavailable })
	time.Sleep(time.Second)
	px.restore()
	waitFor(t, "/readyz to recover once the database is back", func() bool { return ready() == http.StatusOK })
	phase.Store(2)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	st, err := store.Open(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]int64{}
	if _, err := st.ListSteps(context.Background(), model.Filter{Component: "sever"}, func(s model.Step) error {
		if _, dup := stored[s.Status]; dup {
			t.Errorf("%s stored twice", s.Status)
		}
		stored[s.Status] = s.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	counts := map[int32]map[int]int{0: {}, 1: {}, 2: {}}
	for status, a := range answers {
		counts[a.phase][a.status]++
		switch {
		case a.status == http.StatusCreated && stored[status] != a.id:
			t.Errorf("%s answered 201 (id %d) but is not stored", status, a.id)
		case a.status != http.StatusCreated && a.status != http.StatusServiceUnavailable:
			t.Errorf("%s answered %d; want 201, or 503 while the database is away", status, a.status)
		}
	}
	if counts[1][http.StatusServiceUnavailable] == 0 {
		t.Error("no 503 while the database was cut off: the cut did not happen")
	}
	if counts[2][http.StatusCreated] == 0 {
		t.Error("no 201 after the database came back: stepsd did not recover")
	}
	t.Logf("answers before/during/after the cut: %v / %v / %v", counts[0], counts[1], counts[2])
}

// postSteps starts writers goroutines, each posting steps of component
// (status "wN-I", unique) to base until stop closes, and tells answered
// of each answer: its status code, the stored id of a 201, and when it
// was sent. A request that gets no answer at all fails the test: stepsd
// must answer even without its database. Wait on the result after
// closing stop.
func postSteps(t *testing.T, hc *http.Client, base, component string, writers int, stop <-chan struct{},
	answered func(status string, code int, id int64, began time.Time)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status := fmt.Sprintf("w%d-%d", w, i)
				began := time.Now()
				res, err := hc.Post(base+"/v1/steps?component="+component+"&version=1&owner=o&status="+status, "", nil)
				if err != nil {
					t.Errorf("POST %s: %v after %v (stepsd must answer, even without its database)", status, err, time.Since(began))
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var st model.Step
				if res.StatusCode == http.StatusCreated {
					if err := json.Unmarshal(body, &st); err != nil {
						t.Errorf("201 body %q", body)
					}
				}
				answered(status, res.StatusCode, st.ID, began)
				if res.StatusCode != http.StatusCreated {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return &wg
}

// readyz is the status of base's /readyz, 0 without an answer.
func readyz(base string) int {
	res, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestDatabaseHangsUnderLoad: the database stops answering with its
// connections left open (mariadbd under SIGSTOP, a full disk, packets
// dropped), with no readTimeout in the DSN. Every request is answered
// within stepsd's own bound, a write or a read that waited on the
// database with 503 (not 500), /readyz fails, and once the database
// answers again stepsd goes on by itself; no 201 is lost, none doubled.
// A list used to wait for ever and a write answered 500 "internal error".
func TestDatabaseHangsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 30 s bound on a database that does not answer")
	}
	px, direct, proxied := proxiedDatabase(t, "timeout=2s") // no readTimeout: stepsd's default must bound the wait
	d := startDaemon(t, proxied)
	base := "http://" + d.addr

	type answer struct {
		status int
		id     int64
		took   time.Duration
	}
	hc := &http.Client{Timeout: 100 * time.Second} // longer than stepsd's bounds and its 60 s write deadline
	var mu sync.Mutex
	answers := map[string]answer{}
	stop := make(chan struct{})
	wg := postSteps(t, hc, base, "hang", 8, stop, func(status string, code int, id int64, began time.Time) {
		mu.Lock()
		answers[status] = answer{code, id, time.Since(began)}
		mu.Unlock()
	})
	ready := func() int { return readyz(base) }

	time.Sleep(time.Second)
	px.freeze()
	frozen := time.Now()
	type read struct {
		status int
		err    error
	}
	reads := make(chan read, 1)
	go func() {
		res, err := hc.Get(base + "/v1/steps?format=json&component=hang&owner=o&limit=3")
		if err != nil {
			reads <- read{err: err}
			return
		}
		res.Body.Close()
		reads <- read{status: res.StatusCode}
	}()
	waitFor(t, "/readyz to fail while the database hangs", func() bool { return ready() == http.StatusServiceUnavailable })
	select {
	case r := <-reads:
		if r.err != nil || r.status != http.StatusServiceUnavailable {
			t.Errorf("a list while the database hangs: %d %v; want 503", r.status, r.err)
		}
		t.Logf("the list answered after %v", time.Since(frozen).Round(time.Second))
	case <-time.After(45 * time.Second):
		t.Error("a list while the database hangs had no answer after 45 s")
	}
	// Over two of the group commit's 30 s: a write queued behind a stuck
	// transaction must not wait for one of its own after it.
	time.Sleep(time.Until(frozen.Add(65 * time.Second)))
	px.thaw()
	waitFor(t, "/readyz to recover once the database answers", func() bool { return ready() == http.StatusOK })
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	stored := storedStatuses(t, direct, "hang")
	counts := map[int]int{}
	var longest time.Duration
	for status, a := range answers {
		counts[a.status]++
		longest = max(longest, a.took)
		switch {
		case stored[status] > 1:
			t.Errorf("%s stored %d times", status, stored[status])
		case a.status == http.StatusCreated && stored[status] != 1:
			t.Errorf("%s answered 201 (id %d) but is not stored", status, a.id)
		case a.status != http.StatusCreated && a.status != http.StatusServiceUnavailable:
			t.Errorf("%s answered %d; want 201, or 503 while the database hangs", status, a.status)
		}
	}
	if counts[http.StatusServiceUnavailable] == 0 {
		t.Error("no write answered 503 while the database hung")
	}
	if longest > 40*time.Second {
		t.Errorf("a write waited %v for its answer; want stepsd's bound of 30 s, also for one queued behind a stuck transaction", longest)
	}
	t.Logf("answers: %v; longest wait %v", counts, longest.Round(time.Second))
}

// TestStatementPrepareWaitEndsWithItsContext: while one request prepares
// a statement on a database that does not answer, another that needs a
// statement not yet prepared gives up when its own context ends. It
// waited on a mutex, deaf to its context, until the first gave up.
func TestStatementPrepareWaitEndsWithItsContext(t *testing.T) {
	px, _, proxied := proxiedDatabase(t, "timeout=2s&readTimeout=10s")
	st, err := store.Open(context.Background(), proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer px.thaw()
	px.freeze()
	first := make(chan error, 1)
	go func() {
		_, err := st.ListSteps(context.Background(), model.Filter{Owner: "a"}, func(model.Step) error { return nil })
		first <- err
	}()
	time.Sleep(300 * time.Millisecond) // the first is preparing its statement
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = st.ListSteps(ctx, model.Filter{Status: "b"}, func(model.Step) error { return nil })
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("a list with a 500 ms context returned after %v (%v): it waited for another request's statement", took, err)
	}
	if model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Errorf("a list whose time ran out while the database hangs: %v; want EUNAVAILABLE", err)
	}
	px.thaw()
	<-first
}

// TestOutageIsLoggedOnceEachWay: when the database goes away the store
// warns once, however many requests fail, and says when it answers again
// (there was a 503 line per request, and nothing when it came back).
func TestOutageIsLoggedOnceEachWay(t *testing.T) {
	px, _, proxied := proxiedDatabase(t, "timeout=2s")
	var logs testdb.LogBuffer
	ctx := context.Background()
	st, err := store.Open(ctx, proxied, store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in := model.StepInput{Component: "outage", Version: "1", Owner: "o", Status: "build"}
	if _, _, err := st.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	px.sever()
	for range 3 {
		if _, _, err := st.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); model.ErrorCode(err) != model.EUNAVAILABLE {
			t.Errorf("a write with the database away: %v; want EUNAVAILABLE", err)
		}
		if err := st.Ping(ctx); model.ErrorCode(err) != model.EUNAVAILABLE {
			t.Errorf("a ping with the database away: %v; want EUNAVAILABLE", err)
		}
	}
	px.restore()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping once the database is back: %v", err)
	}
	got := logs.String()
	if n := strings.Count(got, `"msg":"database unavailable: requests that need it are answered 503 until it answers again"`); n != 1 {
		t.Errorf("%d warnings that the database is unavailable, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, `"level":"INFO","msg":"database available again","unavailable_seconds":`); n != 1 {
		t.Errorf("%d lines that the database is back, want 1:\n%s", n, got)
	}
}
