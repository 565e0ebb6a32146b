package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// slow retries leave 50–100 ms between attempts, enough to tell the first
// attempt's moment from the one that got through.
var slow = client.RetryPolicy{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxElapsed: 10 * time.Second}

// outage is a real stepsd over a temporary SQLite database, on its real
// clock, at a fixed address where nothing listens until up is called: a
// dial there is refused, as when stepsd is stopped or restarting.
type outage struct {
	t       *testing.T
	addr    string
	store   *store.Store
	handler http.Handler

	mu     sync.Mutex
	ln     net.Listener
	bodies []string // the bodies of the POSTs that reached the server
}

func newOutage(t *testing.T, wrap ...func(o *outage, next http.Handler) http.Handler) *outage {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{t: t, addr: ln.Addr().String(), store: testdb.Open(t, testdb.SQLite(t))}
	ln.Close() // reserved: dials are refused until up
	var h http.Handler = server.New(server.Config{Store: o.store})
	for _, w := range wrap {
		h = w(o, h)
	}
	o.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			o.mu.Lock()
			o.bodies = append(o.bodies, string(b))
			o.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
	return o
}

func (o *outage) URL() string { return "http://" + o.addr }

// up starts serving at the address. It may run on any goroutine.
func (o *outage) up() {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Errorf("listen again on %s: %v", o.addr, err)
		return
	}
	srv := &http.Server{Handler: o.handler}
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	o.t.Cleanup(func() { srv.Close() })
}

// down stops accepting connections; those open stay open.
func (o *outage) down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ln.Close()
}

func (o *outage) sent() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.bodies...)
}

// client returns a client of o whose transport (net/http's own, with a
// real dialer) calls refused after each dial that fails.
func (o *outage) client(t *testing.T, refused func(n int), opts ...client.Option) *client.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	var n atomic.Int32
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil && refused != nil {
			refused(int(n.Add(1)))
		}
		return conn, err
	}
	t.Cleanup(tr.CloseIdleConnections)
	return mustClient(t, o.URL(), append([]client.Option{client.WithRetry(slow), client.WithHTTPClient(&http.Client{Transport: tr})}, opts...)...)
}

// upAfter returns a refused callback that starts o after n refused dials.
func (o *outage) upAfter(n int) func(int) {
	return func(i int) {
		if i == n {
			o.up()
		}
	}
}

func (o *outage) stored(t *testing.T) []model.Step {
	t.Helper()
	var steps []model.Step
	if _, err := o.store.ListSteps(context.Background(), model.Filter{}, func(s model.Step) error { steps = append(steps, s); return nil }); err != nil {
		t.Fatalf("list store: %v", err)
	}
	return steps
}

// TestStepRecordedWhileServerIsDownKeepsItsTime: stepsd is down for the
// first two attempts (connection refused), up for the third. The step is
// stored with the first attempt's time, not the time the third arrived.
func TestStepRecordedWhileServerIsDownKeepsItsTime(t *testing.T) {
	t.Parallel()
	t.Run("Record", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t)
		c := o.client(t, o.upAfter(2))
		before := time.Now()
		step, err := c.Record(context.Background(), input("api", "1.0.0", "build"))
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if d := step.Time.Sub(before); d < -time.Microsecond || d > 40*time.Millisecond {
			t.Errorf("time = %s, %v after the call began; want the first attempt's (within a few ms)", step.Time.Format(time.RFC3339Nano), d)
		}
		if late := step.ReceivedAt.Sub(step.Time); late < 90*time.Millisecond {
			t.Errorf("received %v after its time; want the two waits between refused attempts (>= 100ms)", late)
		}
		steps := o.stored(t)
		if len(steps) != 1 || !steps[0].Time.Equal(step.Time) {
			t.Errorf("stored %+v, want one step at %s", steps, step.Time.Format(time.RFC3339Nano))
		}
		if sent := o.sent(); len(sent) != 1 || !strings.Contains(sent[0], `"time":"`+step.Time.Format(time.RFC3339Nano)+`"`) {
			t.Errorf("bodies that reached the server %q, want one with the explicit time", sent)
		}
	})
	t.Run("RecordBatch stamps only the rows without a time", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t)
		c := o.client(t, o.upAfter(2))
		explicit := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
		rows := []model.StepInput{input("api", "1.0.0", "build"), input("api", "1.0.0", "tests")}
		rows[1].Time = explicit
		before := time.Now()
		steps, err := c.RecordBatch(context.Background(), rows)
		if err != nil {
			t.Fatalf("RecordBatch: %v", err)
		}
		if len(steps) != 2 {
			t.Fatalf("got %d steps, want 2", len(steps))
		}
		if d := steps[0].Time.Sub(before); d < -time.Microsecond || d > 40*time.Millisecond {
			t.Errorf("row without a time: %s, %v after the call began; want the first attempt's", steps[0].Time.Format(time.RFC3339Nano), d)
		}
		if want := model.TruncateTime(explicit); !steps[1].Time.Equal(want) {
			t.Errorf("row with a time: %s, want it kept: %s", steps[1].Time.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	})
	t.Run("an explicit time is never changed", func(t *testing.T) {
		t.Parallel()
		o := newOutage(t)
		c := o.client(t, o.upAfter(2))
		in := input("api", "1.0.0", "build")
		in.Time = time.Now().Add(-time.Hour)
		step, err := c.Record(context.Background(), in)
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if want := model.TruncateTime(in.Time); !step.Time.Equal(want) {
			t.Errorf("time = %s, want the input's %s", step.Time.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	})
	t.Run("a time the server refuses is taken back", func(t *testing.T) {
		// This machine's clock may be ahead of the server's (a 400 for a
		// time in the future): the step is sent as the caller gave it,
		// stamped on arrival, rather than lost.
		t.Parallel()
		o := newOutage(t, func(o *outage, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if bytes.Contains(b, []byte(`"time":`)) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, `{"error":"time is in the future","code":"invalid","field":"time"}`) //nolint:errcheck // a test server
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(b))
				next.ServeHTTP(w, r)
			})
		})
		c := o.client(t, o.upAfter(2))
		step, err := c.Record(context.Background(), input("api", "1.0.0", "build"))
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if !step.Time.Equal(step.ReceivedAt) {
			t.Errorf("time %s, want the receipt time %s", step.Time.Format(time.RFC3339Nano), step.ReceivedAt.Format(time.RFC3339Nano))
		}
		if steps := o.stored(t); len(steps) != 1 {
			t.Errorf("stored %d steps, want 1", len(steps))
		}
	})
	t.Run("RecordWithKey sends its input as it is", func(t *testing.T) {
		// The caller owns the key and may send the same input under it
		// again: a time added here would make that a 422.
		t.Parallel()
		o := newOutage(t)
		c := o.client(t, o.upAfter(2))
		key := client.NewIdempotencyKey()
		in := input("api", "1.0.0", "build")
		step, err := c.RecordWithKey(context.Background(), key, in)
		if err != nil {
			t.Fatalf("RecordWithKey: %v", err)
		}
		if !step.Time.Equal(step.ReceivedAt) {
			t.Errorf("time %s, want the receipt time %s", step.Time.Format(time.RFC3339Nano), step.ReceivedAt.Format(time.RFC3339Nano))
		}
		again, err := c.RecordWithKey(context.Background(), key, in)
		if err != nil || again != step {
			t.Errorf("sent again: %+v, %v; want the stored step", again, err)
		}
	})
	t.Run("WithKeyedStamps, the calls with a key stamp too", func(t *testing.T) {
		t.Parallel()
		for _, call := range []struct {
			name string
			send func(c *client.Client, key string, in model.StepInput) (model.Step, error)
		}{
			{"RecordWithKey", func(c *client.Client, key string, in model.StepInput) (model.Step, error) {
				return c.RecordWithKey(context.Background(), key, in)
			}},
			{"RecordBatchWithKey", func(c *client.Client, key string, in model.StepInput) (model.Step, error) {
				steps, err := c.RecordBatchWithKey(context.Background(), key, []model.StepInput{in})
				if err != nil || len(steps) != 1 {
					return model.Step{}, fmt.Errorf("%d steps: %w", len(steps), err)
				}
				return steps[0], nil
			}},
		} {
			t.Run(call.name, func(t *testing.T) {
				t.Parallel()
				o := newOutage(t)
				c := o.client(t, o.upAfter(2), client.WithKeyedStamps())
				before := time.Now()
				step, err := call.send(c, client.NewIdempotencyKey(), input("api", "1.0.0", "build"))
				if err != nil {
					t.Fatalf("%s: %v", call.name, err)
				}
				if d := step.Time.Sub(before); d < -time.Microsecond || d > 40*time.Millisecond {
					t.Errorf("time = %s, %v after the call began; want the first attempt's", step.Time.Format(time.RFC3339Nano), d)
				}
			})
		}
	})
}

// TestRetryAfterAnAttemptReachedTheServerSendsTheSame: once an attempt
// may have been stored without a time, the retries send exactly what it
// sent, whatever fails after it: one row, no 422.
func TestRetryAfterAnAttemptReachedTheServerSendsTheSame(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, o *outage, step model.Step, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if steps := o.stored(t); len(steps) != 1 {
			t.Errorf("stored %d steps, want 1", len(steps))
		}
		sent := o.sent()
		if len(sent) < 2 {
			t.Fatalf("%d POSTs reached the server, want a retry", len(sent))
		}
		for _, b := range sent[1:] {
			if b != sent[0] {
				t.Errorf("retry sent %s, the first attempt %s", b, sent[0])
			}
		}
		if strings.Contains(sent[0], `"time"`) {
			t.Errorf("sent %s, want no time: the first attempt reached the server", sent[0])
		}
		if !step.Time.Equal(step.ReceivedAt) {
			t.Errorf("time %s, want the receipt time %s", step.Time.Format(time.RFC3339Nano), step.ReceivedAt.Format(time.RFC3339Nano))
		}
	}
	t.Run("stored, then the server went down and dropped the connection", func(t *testing.T) {
		// The step is stored, stepsd stops (its listener closes) and the
		// connection drops before the answer. net/http sends a request
		// with an Idempotency-Key again by itself on a new connection,
		// which is refused: the attempt ends in a dial error though its
		// request reached the server.
		t.Parallel()
		var dropped atomic.Bool
		o := newOutage(t, func(o *outage, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && dropped.CompareAndSwap(false, true) {
					next.ServeHTTP(httptest.NewRecorder(), r)
					o.down()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						panic(err)
					}
					conn.Close()
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		o.up()
		var refusedOnce atomic.Bool
		c := o.client(t, func(int) {
			if refusedOnce.CompareAndSwap(false, true) {
				o.up()
			}
		})
		// A first request leaves a connection to reuse, as in a deploy
		// script that records step after step.
		if _, err := c.Get(context.Background(), 1); model.ErrorCode(err) != model.ENOTFOUND {
			t.Fatalf("Get: %v, want not found", err)
		}
		step, err := c.Record(context.Background(), input("api", "1.0.0", "build"))
		if !refusedOnce.Load() {
			t.Error("no dial was refused: the test did not make the case it means to")
		}
		check(t, o, step, err)
	})
	t.Run("a 503 from a proxy in front", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		o := newOutage(t, func(o *outage, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && n.Add(1) == 1 {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, "<html><body>503 Service Unavailable</body></html>")
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		o.up()
		c := o.client(t, nil)
		step, err := c.Record(context.Background(), input("api", "1.0.0", "build"))
		check(t, o, step, err)
	})
}

// TestStepNeverDeliveredFailsAsBefore: a server down for every attempt is
// still a temporary *NetError, with every attempt counted.
func TestStepNeverDeliveredFailsAsBefore(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	c := o.client(t, nil)
	_, err := c.Record(context.Background(), input("api", "1.0.0", "build"))
	var netErr *client.NetError
	if !errors.As(err, &netErr) || netErr.Attempts != slow.MaxAttempts || !client.IsTemporary(err) {
		t.Errorf("err = %#v, want a temporary *NetError after %d attempts", err, slow.MaxAttempts)
	}
}
