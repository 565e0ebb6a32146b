package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"testing"
	"time"

	"github.com/steps-dev/steps/internal/heldstore"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// longBatch is a JSON batch of rows steps of component, each with long
// values, as an import of a big history sends.
func longBatch(t *testing.T, component string, rows int) []byte {
	t.Helper()
	long := strings.Repeat("x", 120)
	ins := make([]map[string]string, rows)
	for i := range ins {
		ins[i] = map[string]string{"component": component, "version": fmt.Sprintf("%d-%s", i, long),
			"owner": long, "status": long[:60], "environment": "production", "revision": long[:64], "time": "2026-03-01T10:00:00Z"}
	}
	b, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type batchAnswer struct {
	component string
	res       response
}

// postBatches sends the batches at once, each as its own client would.
func postBatches(t *testing.T, url string, batches map[string][]byte, header ...string) <-chan batchAnswer {
	t.Helper()
	out := make(chan batchAnswer, len(batches))
	for comp, body := range batches {
		go func() {
			req, err := http.NewRequest("POST", url+"/v1/steps/batch", bytes.NewReader(body))
			if err != nil {
				panic(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- batchAnswer{comp, response{status: -1, body: []byte(err.Error())}}
				return
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(res.Body) //nolint:errcheck // a short body fails the checks
			out <- batchAnswer{comp, response{status: res.StatusCode, header: res.Header, body: buf.Bytes()}}
		}()
	}
	return out
}

// recv waits for the next answer, failing the test after 20 s.
func recv(t *testing.T, answers <-chan batchAnswer) batchAnswer {
	t.Helper()
	select {
	case a := <-answers:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer to a batch in 20 s")
		return batchAnswer{}
	}
}

// countComponent counts the stored steps of component.
func countComponent(t *testing.T, url, component string) int {
	t.Helper()
	res, err := http.Get(url + "/v1/steps?format=ndjson&component=" + component)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	return bytes.Count(buf.Bytes(), []byte("\n"))
}

// Writes hold their bodies (parsed) while they wait for the store's writer:
// before the bound, any number of large batches waited at once, and a
// burst of them ran stepsd out of memory. Past Config.MaxWriteBytes a
// batch waits WriteWait for room, then gets 503 with Retry-After, having
// stored nothing; the admitted ones are stored, once each.
func TestWritesHeldBytesBounded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		const rows, sent, fit = 4000, 10, 2
		batches := map[string][]byte{}
		var size int64
		for i := range sent {
			b := longBatch(t, fmt.Sprintf("big%02d", i), rows)
			batches[fmt.Sprintf("big%02d", i)] = b
			size = max(size, int64(len(b)))
		}
		held := heldstore.New(testdb.Open(t, fresh(t)))
		ts := httptest.NewServer(server.New(server.Config{Store: held, MaxBatchBytes: size,
			MaxWriteBytes: fit * size, WriteWait: 300 * time.Millisecond, ClientBatches: sent,
			// One client sends them all: no bound of its own, to test
			// the bound on all clients.
			ClientWriteBytes: sent * size}))
		t.Cleanup(ts.Close)
		t.Cleanup(held.Release) // before ts.Close, which waits for the held
		mem0 := measureMem(t)

		answers := postBatches(t, ts.URL, batches)
		var refused []batchAnswer
		for len(refused) < sent-fit {
			select {
			case a := <-answers:
				refused = append(refused, a)
			case <-time.After(20 * time.Second):
				t.Fatalf("%d of %d batches answered while %d were waiting for the store, want %d refused (the bound holds %d)",
					len(refused), sent, held.Entered(), sent-fit, fit)
			}
		}
		held.WaitEntered(t, fit)
		mem1 := measureMem(t)
		for _, a := range refused {
			_, code, _ := a.res.errorBody(t)
			if a.res.status != http.StatusServiceUnavailable || a.res.header.Get("Retry-After") == "" || code != model.EUNAVAILABLE ||
				!strings.Contains(string(a.res.body), "--max-write-bytes") {
				t.Errorf("batch past the bound: %d (Retry-After %q) %s, want 503 with Retry-After naming --max-write-bytes",
					a.res.status, a.res.header.Get("Retry-After"), a.res.body)
			}
		}
		if n := held.Entered(); n != fit {
			t.Errorf("%d batches reached the store, want %d", n, fit)
		}
		t.Logf("%d batches of %.1f MiB, %d admitted: %s before, %s while held", sent, float64(size)/(1<<20), fit, mem0, mem1)
		// Each admitted batch holds its parsed rows, a few times its body
		// at most; before the bound all ten were held.
		if grew := mem1.heapMiB - mem0.heapMiB; grew > 4*float64(fit*size)/(1<<20) {
			t.Errorf("heap grew by %.0f MiB with %d batches of %.1f MiB admitted", grew, fit, float64(size)/(1<<20))
		}

		held.Release()
		for range fit {
			a := <-answers
			if a.res.status != http.StatusCreated {
				t.Errorf("admitted batch: %d %.200s, want 201", a.res.status, a.res.body)
			}
		}
		for _, a := range refused {
			if n := countComponent(t, ts.URL, a.component); n != 0 {
				t.Errorf("refused batch %s: %d steps stored, want 0", a.component, n)
			}
		}
		stored := 0
		for comp := range batches {
			switch n := countComponent(t, ts.URL, comp); n {
			case 0:
			case rows:
				stored++
			default:
				t.Errorf("batch %s: %d steps stored, want 0 or %d", comp, n, rows)
			}
		}
		if stored != fit {
			t.Errorf("%d batches stored, want %d", stored, fit)
		}
	})
}

// The bound never refuses a batch of the largest size when nothing else is
// in progress: a MaxWriteBytes below MaxBatchBytes is raised to it.
func TestWritesLargestBatchAlwaysFits(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	body := longBatch(t, "whole", 3000)
	ts := httptest.NewServer(server.New(server.Config{Store: st, MaxBatchBytes: int64(len(body)),
		MaxWriteBytes: 1 << 10, WriteWait: 100 * time.Millisecond}))
	t.Cleanup(ts.Close)
	res := recv(t, postBatches(t, ts.URL, map[string][]byte{"whole": body}))
	if res.res.status != http.StatusCreated {
		t.Fatalf("one batch of the largest size alone: %d %.300s, want 201", res.res.status, res.res.body)
	}
	// A single step, small, is held too, and fits.
	if r := (&testServer{Server: ts}).do(t, "POST", "/v1/steps", strings.NewReader(`{"component":"a","version":"1","owner":"o","status":"build"}`),
		"Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Errorf("one step: %d %s, want 201", r.status, r.body)
	}
}

// Past Config.ClientBatches batches in progress, a client gets 429 with
// Retry-After at once, as for lists; other clients are still admitted.
func TestWritesBatchesPerClient(t *testing.T) {
	held := heldstore.New(testdb.Open(t, testdb.SQLite(t)))
	tokens := []server.Token{{Scope: server.ScopeWrite, Secret: "ci-one"}, {Scope: server.ScopeWrite, Secret: "ci-two"}}
	ts := httptest.NewServer(server.New(server.Config{Store: held, ClientBatches: 2, Tokens: tokens}))
	t.Cleanup(ts.Close)
	t.Cleanup(held.Release) // before ts.Close, which waits for the held
	answers := postBatches(t, ts.URL, map[string][]byte{"one-a": longBatch(t, "one-a", 10), "one-b": longBatch(t, "one-b", 10)},
		"Authorization", "Bearer ci-one")
	held.WaitEntered(t, 2)
	third := recv(t, postBatches(t, ts.URL, map[string][]byte{"one-c": longBatch(t, "one-c", 10)}, "Authorization", "Bearer ci-one"))
	_, code, _ := third.res.errorBody(t)
	if third.res.status != http.StatusTooManyRequests || third.res.header.Get("Retry-After") == "" || code != model.ERATELIMITED ||
		!strings.Contains(string(third.res.body), "batches in progress") {
		t.Errorf("a third batch of one client: %d (Retry-After %q) %s, want 429 naming batches in progress",
			third.res.status, third.res.header.Get("Retry-After"), third.res.body)
	}
	other := postBatches(t, ts.URL, map[string][]byte{"two-a": longBatch(t, "two-a", 10)}, "Authorization", "Bearer ci-two")
	held.WaitEntered(t, 3)
	held.Release()
	for range 2 {
		if a := recv(t, answers); a.res.status != http.StatusCreated {
			t.Errorf("batch %s: %d %s, want 201", a.component, a.res.status, a.res.body)
		}
	}
	if a := recv(t, other); a.res.status != http.StatusCreated {
		t.Errorf("another client's batch: %d %s, want 201", a.res.status, a.res.body)
	}
	// Its slots come back once answered.
	if a := recv(t, postBatches(t, ts.URL, map[string][]byte{"one-c": longBatch(t, "one-c", 10)}, "Authorization", "Bearer ci-one")); a.res.status != http.StatusCreated {
		t.Errorf("a batch after the others were answered: %d %s, want 201", a.res.status, a.res.body)
	}
}
