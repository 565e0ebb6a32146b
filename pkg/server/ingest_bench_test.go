package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// BenchmarkIngest posts one step per operation through the whole handler
// (every middleware, parsing, validation, the store and the JSON answer)
// and reports the time and allocations it costs. store=sqlite writes to a
// real SQLite database; store=none answers from memory, which leaves the
// HTTP layer's own cost: what stepsd adds to the baseline server of
// cmd/stepsbench. req=query sends the fields in the query string, as
// deploy scripts and stepsbench do; req=json as stepsctl does; auth=token
// checks a bearer token, as a production server does. The rate limiter is
// on, with a rate no loop reaches. On a database the steps are those
// stepsbench sends: deploys of 8 components, five steps each ending with
// finished, so that a group commit spans several targets and no
// deployment grows without end; c=32 is where group commit gathers most.
//
//	go test ./pkg/server -run '^$' -bench Ingest -benchmem -count 6
func BenchmarkIngest(b *testing.B) {
	type benchCase struct {
		store, req string
		token      bool
		clients    int
	}
	cases := []benchCase{
		{"none", "query", false, 1},
		{"none", "json", false, 1},
		{"none", "query", true, 1},
	}
	dbs := testdb.Benched()
	for _, db := range []string{"sqlite", "mysql"} {
		if dbs[db] != nil {
			cases = append(cases, benchCase{db, "query", false, 1}, benchCase{db, "json", false, 1}, benchCase{db, "query", false, 8},
				benchCase{db, "query", false, 32})
		}
	}
	for _, bc := range cases {
		auth := "none"
		if bc.token {
			auth = "token"
		}
		b.Run(fmt.Sprintf("store=%s/req=%s/auth=%s/c=%d", bc.store, bc.req, auth, bc.clients), func(b *testing.B) {
			var st server.Store = &memoryStore{}
			if fresh := dbs[bc.store]; fresh != nil {
				st = testdb.Open(b, fresh(b))
			}
			cfg := server.Config{Store: st, RateLimit: 1e9, RateBurst: 1e9}
			if bc.token {
				cfg.Tokens = []server.Token{{Scope: server.ScopeRead, Secret: "read-token-1"}, {Scope: server.ScopeWrite, Secret: "write-token-1"}}
			}
			h := server.New(cfg)
			var deploys *atomic.Int64 // nil: every request the same step
			if bc.store != "none" {
				deploys = new(atomic.Int64)
			}
			if bc.clients == 1 {
				benchmarkIngest(b, h, bc.req == "json", bc.token, deploys, b.Loop)
				return
			}
			// c clients at once, as stepsbench's loads (GOMAXPROCS x
			// parallelism goroutines).
			b.SetParallelism(max(1, bc.clients/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				benchmarkIngest(b, h, bc.req == "json", bc.token, deploys, pb.Next)
			})
		})
	}
}

// benchmarkIngest posts steps until next says to stop: with deploys nil,
// one step again and again, else the next of stepsbench's deploys.
func benchmarkIngest(b *testing.B, h http.Handler, json, token bool, deploys *atomic.Int64, next func() bool) {
	const fields = "component=load-1&version=1.2.0&owner=bench&status=build&environment=production"
	object := []byte(`{"component":"load-1","version":"1.2.0","owner":"bench","status":"build","environment":"production"}`)
	// One request and one writer serve every operation (nothing on this
	// path keeps them), so that the figures are the server's alone.
	r := httptest.NewRequest(http.MethodPost, "/v1/steps?"+fields, nil)
	body := bytes.NewReader(object)
	if json {
		r = httptest.NewRequest(http.MethodPost, "/v1/steps", body)
		r.Header.Set("Content-Type", "application/json")
	}
	if token {
		r.Header.Set("Authorization", "Bearer write-token-1")
	}
	w := &benchWriter{header: http.Header{}}
	for next() {
		if deploys != nil {
			i := deploys.Add(1)
			component, version, status := fmt.Sprint("load-", i%8), fmt.Sprint("1.", i/40, ".0"), deployStatuses[i%int64(len(deployStatuses))]
			if json {
				object = fmt.Appendf(object[:0], `{"component":%q,"version":%q,"owner":"bench","status":%q,"environment":"production"}`, component, version, status)
			} else {
				r.URL.RawQuery = "component=" + component + "&version=" + version + "&owner=bench&status=" + status + "&environment=production"
			}
		}
		if json {
			body.Reset(object)
			r.Body = io.NopCloser(body)
		}
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusCreated {
			b.Errorf("POST: %d", w.status)
			return
		}
	}
}

// deployStatuses are the steps of each deploy stepsbench sends, the last
// one ending it.
var deployStatuses = []string{"build", "tests", "migrate", "rollout", "finished"}

// benchWriter is a ResponseWriter that keeps only the status. Like
// net/http's own, it takes a write deadline.
type benchWriter struct {
	header http.Header
	status int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) { w.status = status }

func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}

func (w *benchWriter) SetWriteDeadline(time.Time) error { return nil }

// memoryStore stores nothing: it numbers steps and answers at once, so that
// a benchmark measures the server alone.
type memoryStore struct {
	server.Store // the methods the ingest path does not call panic
	ids          atomic.Int64
}

func (m *memoryStore) CreateStep(_ context.Context, in model.StepInput, meta model.RecordMeta) (model.Step, bool, error) {
	in = in.Normalized()
	if err := in.Validate(); err != nil {
		return model.Step{}, false, err
	}
	t := model.TruncateTime(meta.ReceivedAt)
	return model.Step{ID: m.ids.Add(1), Component: in.Component, Version: in.Version, Owner: in.Owner,
		Status: in.Status, Environment: in.Environment, Time: t, ReceivedAt: t}, false, nil
}
