package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// Readiness and errors must say whether stepsd can keep what it is sent:
// a database pulled from under a running server answers 503, never a 201
// for a step that would be lost, nor a 500, nor a dead process.

func wantUnavailable(t *testing.T, ts *testServer, what, method, path string) {
	t.Helper()
	r := ts.do(t, method, path, nil)
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("%s: %s %s = %d %s, want 503", what, method, path, r.status, r.body)
		return
	}
	if _, code, _ := r.errorBody(t); code != model.EUNAVAILABLE || r.header.Get("Retry-After") == "" {
		t.Errorf("%s: %s %s: code %q, Retry-After %q", what, method, path, code, r.header.Get("Retry-After"))
	}
}

func TestSQLiteFileDeletedIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.db")
	ts := newTestServer(t, "sqlite:"+path)
	ts.mustPost(t, valid)
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	wantUnavailable(t, ts, "deleted", "POST", "/v1/steps?"+valid)
	wantUnavailable(t, ts, "deleted", "GET", "/readyz")
	body := `[{"component":"a","version":"1","owner":"o","status":"s"}]`
	if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusServiceUnavailable {
		t.Errorf("batch into a deleted file = %d %s, want 503", r.status, r.body)
	}
	// A read may still be answered from a connection that holds the
	// deleted file open; one that opens a new connection finds a new,
	// empty file with no tables. Either way it is no fault of ours: 200
	// or 503, never a 500.
	// Several at once, so that some open new connections.
	for _, path := range []string{"/v1/steps?format=json", "/v1/steps/1", "/v1/deployments", "/v1/stats", "/v1/changes", "/v1/dora", "/v1/values?field=component"} {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if r := ts.do(t, "GET", path, nil); r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
					t.Errorf("GET %s of a deleted file = %d %s, want 200 or 503", path, r.status, r.body)
				}
			})
		}
		wg.Wait()
	}

	t.Run("Replaced", func(t *testing.T) {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		wantUnavailable(t, ts, "replaced", "POST", "/v1/steps?"+valid)
		wantUnavailable(t, ts, "replaced", "GET", "/readyz")
	})
}

// TestSQLiteLogDeletedIsUnavailable: the -wal and -shm files deleted under
// a running stepsd (an rm of steps.db-*, a clean-up of "temporary"
// files). SQLite went on writing to the deleted log, answering 201, while
// the database file held none of the steps since its last checkpoint: a
// kill -9 then lost every one of them (40 of 40 in the walk). Now writes
// and /readyz answer 503, and what the deleted log holds is checkpointed
// into the database file, which a copy of that file alone shows.
//
// Through a link: stepsd given a symbolic link to the database (a path
// that names a file on a volume) looked for the log beside the link, where
// SQLite never puts it (it resolves the link first), so deleting the real
// -wal and -shm went unseen: 41 steps of 41 answered 201 and /readyz 200,
// and a kill -9 then lost them all.
func TestSQLiteLogDeletedIsUnavailable(t *testing.T) {
	t.Run("Path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "steps.db")
		logDeletedIsUnavailable(t, path, path)
	})
	t.Run("Link", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "data.db")
		link := filepath.Join(t.TempDir(), "steps.db")
		if err := os.Symlink(path, link); err != nil {
			t.Skipf("symlink: %v", err)
		}
		logDeletedIsUnavailable(t, link, path)
	})
}

// logDeletedIsUnavailable serves the database named by dsnPath, whose file
// is path, and deletes the -wal and -shm files beside path under it.
func logDeletedIsUnavailable(t *testing.T, dsnPath, path string) {
	ts := newTestServer(t, "sqlite:"+dsnPath)
	const acked = 20
	for i := range acked {
		ts.mustPost(t, fmt.Sprintf("component=api&version=%d&owner=o&status=build", i))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil {
			t.Fatal(err)
		}
	}
	wantUnavailable(t, ts, "log deleted", "POST", "/v1/steps?"+valid)
	wantUnavailable(t, ts, "log deleted", "GET", "/readyz")
	body := `[{"component":"a","version":"1","owner":"o","status":"s"}]`
	if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusServiceUnavailable {
		t.Errorf("batch with the log deleted = %d %s, want 503", r.status, r.body)
	}

	// The database file alone, as a crash would leave it.
	copied := filepath.Join(t.TempDir(), "steps.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copied, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stored int
	if _, err := testdb.Open(t, "sqlite:"+copied).ListSteps(t.Context(), model.Filter{}, func(model.Step) error { stored++; return nil }); err != nil {
		t.Fatal(err)
	}
	if stored != acked {
		t.Errorf("the database file holds %d steps of the %d acknowledged; want all, saved from the deleted log", stored, acked)
	}
}

// TestSQLiteDiskFullIsUnavailable fills a small tmpfs (root only; skipped
// elsewhere): every 201 is stored, every refusal a 503, reads and /readyz
// go on answering, and once space is freed the next write succeeds without
// a restart. The outage is logged once: each /readyz that answered logged
// "database available again" while every write still failed, and the next
// write "database unavailable" again.
func TestSQLiteDiskFullIsUnavailable(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() }) //nolint:errcheck // best effort
	var logs testdb.LogBuffer
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(dir, "steps.db"), store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: httptest.NewServer(server.New(server.Config{Store: st})), store: st}
	t.Cleanup(ts.Close)

	acked := 0
	for i := 0; ; i++ {
		r := ts.do(t, "POST", fmt.Sprintf("/v1/steps?component=api&version=%d&owner=%s&status=build", i, strings.Repeat("o", 100)), nil)
		if r.status == http.StatusCreated {
			acked++
			continue
		}
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("POST on a full disk = %d %s, want 503", r.status, r.body)
		}
		break
	}
	t.Logf("%d steps acknowledged before the disk was full", acked)
	for range 3 {
		if r := ts.do(t, "GET", "/readyz", nil); r.status != http.StatusOK {
			t.Errorf("/readyz on a full disk = %d %s, want 200: reads are served", r.status, r.body)
		}
		wantUnavailable(t, ts, "disk full", "POST", "/v1/steps?"+valid)
	}
	if n := strings.Count(logs.String(), `"msg":"database unavailable`); n != 1 {
		t.Errorf("%d lines \"database unavailable\" while the disk stayed full, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), `"msg":"database available again"`) {
		t.Errorf("\"database available again\" logged while every write failed:\n%s", logs.String())
	}

	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	ts.mustPost(t, valid)
	acked++
	if !strings.Contains(logs.String(), `"msg":"database available again"`) {
		t.Errorf("no \"database available again\" once a write succeeded:\n%s", logs.String())
	}
	steps, _ := ts.listJSON(t, "")
	if len(steps) != acked {
		t.Errorf("%d steps listed, %d acknowledged", len(steps), acked)
	}
}

// chattr sets or clears inode flags; the test is skipped where it cannot
// (not root, or a file system without them).
func chattr(t *testing.T, flag string, files ...string) {
	t.Helper()
	if out, err := exec.Command("chattr", append([]string{flag}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("chattr %s: %v %s", flag, err, out)
	}
}

func TestSQLiteImmutableFileIsUnavailableNotFatal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.db")
	ts := newTestServer(t, "sqlite:"+path)
	for range 20 {
		ts.mustPost(t, valid)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) != 3 {
		t.Fatalf("files %v, want the database, -wal and -shm", files)
	}
	chattr(t, "+i", files...)
	t.Cleanup(func() { exec.Command("chattr", append([]string{"-i"}, files...)...).Run() }) //nolint:errcheck // best effort

	// Before the fix the process died here with SIGBUS.
	wantUnavailable(t, ts, "immutable", "POST", "/v1/steps?"+valid)
	wantUnavailable(t, ts, "immutable", "GET", "/readyz")
	// A read may touch the WAL index's shared memory, whose pages now fault:
	// the server turns the fault into a 500 (SetPanicOnFault), but under
	// the race detector the fault lands in its runtime and cannot be
	// recovered, so the read is only tried without it.
	if !raceEnabled {
		if r := ts.do(t, "GET", "/v1/steps?format=json", nil); r.status != 200 && r.status < 500 {
			t.Errorf("list of an immutable database = %d %s", r.status, r.body)
		}
	}
	if r := ts.do(t, "GET", "/healthz", nil); r.status != 200 {
		t.Errorf("/healthz = %d: the process must live on", r.status)
	}

	chattr(t, "-i", files...)
	if r := ts.do(t, "GET", "/readyz", nil); r.status != 200 {
		t.Errorf("/readyz once the flag is cleared = %d %s", r.status, r.body)
	}
	if r := ts.post(t, valid); r.status != http.StatusCreated {
		t.Errorf("POST once the flag is cleared = %d %s", r.status, r.body)
	}
}

func TestMySQLDatabaseDroppedIsUnavailable(t *testing.T) {
	dsn := testdb.MySQL(t)
	ts := newTestServer(t, dsn)
	ts.mustPost(t, valid)

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin := testdb.Admin(t, dsn)
	if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+strings.TrimPrefix(u.Path, "/")); err != nil {
		t.Fatal(err)
	}

	wantUnavailable(t, ts, "dropped", "GET", "/readyz")
	wantUnavailable(t, ts, "dropped", "POST", "/v1/steps?"+valid)
	wantUnavailable(t, ts, "dropped", "GET", "/v1/steps/1")
	wantUnavailable(t, ts, "dropped", "GET", "/v1/steps?format=json")
}

// TestClientGoneIsNotAServerError: a client that gives up while the
// database keeps its request waiting (here a table lock; in production a
// hung database or a proxy's timeout) is logged and counted as 499, not as
// a 500 with an error line, so that the 5xx alert of docs/operations.md
// says what stepsd did, not what its clients did.
func TestClientGoneIsNotAServerError(t *testing.T) {
	srv, logs := serveWithStepsLocked(t, server.Config{})
	ctx := context.Background()
	reqCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, "GET", srv.URL+"/v1/steps/1", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("GET answered %d while the table was locked", res.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"path":"/v1/steps/1"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"method":"GET","path":"/v1/steps/1","status":499`) {
		t.Errorf("the request of a client that went away is not logged as 499:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client that went away is logged as an error:\n%s", logs.String())
	}
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `steps_http_requests_total{method="GET",route="GET /v1/steps/{id}",status="499"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if strings.Contains(string(body), `route="GET /v1/steps/{id}",status="500"`) {
		t.Error("/metrics counts the client that went away as a 500")
	}
}

// TestClientGoneWaitingForAListReaderIsNotAServerError: a list waits for
// one of Config.ListReaders while others read; a client that gives up
// meanwhile went away, like one that gave up on the database (499), and
// is not stepsd failing (503 and an error line on the 5xx alert).
func TestClientGoneWaitingForAListReaderIsNotAServerError(t *testing.T) {
	srv, logs := serveWithStepsLocked(t, server.Config{ListReaders: 1})
	ctx := context.Background()

	// The one reader waits on the locked table; the second list waits
	// for the reader, and its client leaves first.
	get := func(path string, after time.Duration, done chan<- struct{}) {
		defer close(done)
		reqCtx, cancel := context.WithTimeout(ctx, after)
		defer cancel()
		req, _ := http.NewRequestWithContext(reqCtx, "GET", srv.URL+path, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Errorf("GET %s answered %d while the table was locked", path, res.StatusCode)
		}
	}
	reading, waiting := make(chan struct{}), make(chan struct{})
	go get("/v1/steps?format=json", 3*time.Second, reading)
	time.Sleep(300 * time.Millisecond)
	go get("/v1/steps?format=csv", 300*time.Millisecond, waiting)
	<-waiting
	<-reading
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), `"method":"GET","path":"/v1/steps"`) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), `"method":"GET","path":"/v1/steps","status":499`); n != 2 {
		t.Errorf("%d of the 2 lists whose clients went away logged as 499, want both:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client that went away waiting for a list reader is logged as an error:\n%s", logs.String())
	}
}

// serveWithStepsLocked serves cfg over a MariaDB store holding one step
// (valid), logging to the buffer it returns, while another session holds
// the steps table locked for writing until the test ends: a request that
// reads steps waits, as on a hung database.
func serveWithStepsLocked(t *testing.T, cfg server.Config) (*httptest.Server, *testdb.LogBuffer) {
	t.Helper()
	dsn := testdb.MySQL(t)
	logs := &testdb.LogBuffer{}
	cfg.Store, cfg.Logger = testdb.Open(t, dsn), slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	if res, err := http.Post(srv.URL+"/v1/steps?"+valid, "", nil); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %v %v", res, err)
	}
	ctx := context.Background()
	conn, err := testdb.Open(t, dsn).DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "LOCK TABLES steps WRITE"); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the table is unlocked before the server
	// closes, so that the requests it waits for end.
	t.Cleanup(func() {
		conn.ExecContext(ctx, "UNLOCK TABLES") //nolint:errcheck // the connection closes next anyway
		conn.Close()
	})
	return srv, logs
}

// TestUnavailableIsLoggedOnceInAWhile: each 503 was an ERROR line of its
// own, a flood at the level pagers watch for an outage the store
// announces once; they are summed up at WARN, a line per 10 s, while the
// request log still has a line per request.
func TestUnavailableIsLoggedOnceInAWhile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.db")
	var logs testdb.LogBuffer
	st := testdb.Open(t, "sqlite:"+path)
	srv := httptest.NewServer(server.New(server.Config{Store: st, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st}
	ts.mustPost(t, valid)
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20
	for range n {
		wantUnavailable(t, ts, "deleted", "POST", "/v1/steps?"+valid)
	}
	got := logs.String()
	if c := strings.Count(got, `"level":"ERROR"`); c != 0 {
		t.Errorf("%d ERROR lines for %d 503s, want none:\n%s", c, n, got)
	}
	if c := strings.Count(got, `"level":"WARN","msg":"requests answered 503"`); c != 1 {
		t.Errorf("%d WARN lines summing up %d 503s in well under 10 s, want 1:\n%s", c, n, got)
	}
	if c := strings.Count(got, `"status":503`); c != n {
		t.Errorf("%d request lines with status 503, want %d", c, n)
	}
}
