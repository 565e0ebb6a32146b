package faulttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// records is the size of the kill-and-restart load; STEPS_FAULT_RECORDS
// changes it.
func records(t *testing.T) int {
	if v := os.Getenv("STEPS_FAULT_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("STEPS_FAULT_RECORDS: %v", err)
		}
		return n
	}
	return 20000
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// stepsdBinary builds cmd/stepsd once for the package's tests.
func stepsdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stepsd-fault")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "stepsd")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/stepsd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// daemon is a stepsd process on a fixed address and database.
type daemon struct {
	t    *testing.T
	bin  string
	addr string
	dsn  string
	cmd  *exec.Cmd
	logs *os.File
	done chan error
}

func startDaemon(t *testing.T, dsn string) *daemon {
	t.Helper()
	logs, err := os.Create(filepath.Join(t.TempDir(), "stepsd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, bin: stepsdBinary(t), addr: freeAddr(t), dsn: dsn, logs: logs}
	d.start()
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin, "--listen", d.addr, "--db", d.dsn, "--rate-limit", "0", "--log-level", "warn")
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(d.cmd, d.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + d.addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("stepsd on %s never became ready", d.addr)
}

func (d *daemon) kill() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// storedStatuses counts, straight from the database, how often each
// status of the component was stored.
func storedStatuses(t *testing.T, dsn, component string) map[string]int {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]int{}
	if _, err := st.ListSteps(context.Background(), model.Filter{Component: component}, func(s model.Step) error {
		got[s.Status]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestKilledAndRestartedUnderLoad sends records at concurrency 64 through
// pkg/client while stepsd is SIGKILLed and restarted twice: every record
// acknowledged is stored exactly once, and nothing is stored twice.
func TestKilledAndRestartedUnderLoad(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		n := records(t)
		dsn := fresh(t)
		migrate(t, dsn)
		d := startDaemon(t, dsn)
		c, err := client.New("http://"+d.addr, client.WithRetry(client.RetryPolicy{
			MaxAttempts: 100, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond, MaxElapsed: 2 * time.Minute,
		}))
		if err != nil {
			t.Fatal(err)
		}

		var next, acked atomic.Int64
		ackedIDs := make([]int64, n)
		var failures sync.Map
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					st, err := c.Record(context.Background(), model.StepInput{Component: "fault", Version: "1", Owner: "load", Status: "r" + strconv.Itoa(i)})
					if err != nil {
						failures.Store(i, err)
						continue
					}
					ackedIDs[i] = st.ID
					acked.Add(1)
				}
			})
		}
		for _, at := range []int64{int64(n) / 3, 2 * int64(n) / 3} {
			for acked.Load() < at {
				time.Sleep(5 * time.Millisecond)
			}
			d.kill()
			time.Sleep(100 * time.Millisecond)
			d.start()
		}
		wg.Wait()

		failed := 0
		failures.Range(func(k, v any) bool {
			failed++
			if failed <= 3 {
				t.Logf("record %v not acknowledged: %v", k, v)
			}
			return true
		})
		stored := storedStatuses(t, dsn, "fault")
		for i := range n {
			status := "r" + strconv.Itoa(i)
			switch got := stored[status]; {
			case got > 1:
				t.Errorf("record %d stored %d times", i, got)
			case ackedIDs[i] != 0 && got != 1:
				t.Errorf("record %d acknowledged (id %d) but stored %d times", i, ackedIDs[i], got)
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d records not acknowledged after retries", failed, n)
		}
		t.Logf("%d records, %d acknowledged, %d distinct stored, stepsd killed twice", n, acked.Load(), len(stored))
	})
}

func migrate(t *testing.T, dsn string) {
	t.Helper()
	st := testdb.Open(t, dsn)
	st.Close()
}

// TestSIGTERMUnderLoad stops stepsd with SIGTERM while requests are in
// flight: every request that got an answer got a 2xx and was stored, and
// stepsd exits 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	dsn := testdb.SQLite(t)
	migrate(t, dsn)
	d := startDaemon(t, dsn)
	// A connection per request: a request is either refused at connect
	// (after shutdown began) or in flight, never stuck behind a closing
	// keep-alive connection.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	var sent, answered atomic.Int64
	var bad sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				res, err := hc.Post(fmt.Sprintf("http://%s/v1/steps?component=term&version=1&owner=o&status=w%d-%d", d.addr, w, i), "", nil)
				if err != nil {
					continue // refused or reset before an answer: not acknowledged
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answered.Add(1)
				if res.StatusCode != http.StatusCreated {
					bad.Store(fmt.Sprintf("w%d-%d", w, i), res.StatusCode)
				}
			}
		})
	}
	for answered.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("stepsd exit after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("stepsd did not exit after SIGTERM")
	}
	close(stop)
	wg.Wait()
	bad.Range(func(k, v any) bool {
		t.Errorf("request %v answered %v during shutdown", k, v)
		return true
	})
	stored := storedStatuses(t, dsn, "term")
	if int64(len(stored)) < answered.Load() {
		t.Errorf("%d answered with 201, only %d stored", answered.Load(), len(stored))
	}
	t.Logf("%d sent, %d answered 201, %d stored", sent.Load(), answered.Load(), len(stored))
}
