package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// BenchmarkExport streams every row as CSV and NDJSON from a SQLite store
// and reports the process's peak live heap during the export. Streaming
// means the peak stays flat as the row count grows tenfold:
//
//	go test ./pkg/server -run '^$' -bench Export -benchtime 3x
func BenchmarkExport(b *testing.B) {
	dbs := testdb.Benched()
	for _, rows := range []int{20_000, 200_000} {
		for name, fresh := range dbs {
			benchmarkExport(b, name, fresh, rows)
		}
	}
}

func benchmarkExport(b *testing.B, db string, fresh func(testing.TB) string, rows int) {
	st := seed(b, fresh(b), rows)
	srv := httptest.NewServer(server.New(server.Config{Store: st}))
	defer srv.Close()
	for _, format := range []string{"csv", "ndjson"} {
		b.Run(fmt.Sprintf("db=%s/format=%s/rows=%d", db, format, rows), func(b *testing.B) {
			var peak, bytes int64
			for b.Loop() {
				stop := sampleHeap(&peak)
				res, err := http.Get(srv.URL + "/v1/steps?format=" + format)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				stop()
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("export: %d %v", res.StatusCode, err)
				}
				bytes = n
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// seed stores n steps of generated deploys in one store: five steps a
// deploy, five components, a deploy every few minutes.
func seed(b testing.TB, dsn string, n int) *store.Store {
	b.Helper()
	st := testdb.Open(b, dsn)
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"build", "tests", "migrate", "rollout", "finished"}
	batch := make([]model.StepInput, 0, store.MaxBatch)
	for i := range n {
		batch = append(batch, model.StepInput{
			Component:   fmt.Sprintf("component-%d", (i/5)%5),
			Version:     fmt.Sprintf("1.%d.0", i/25),
			Owner:       "deploy-bot",
			Status:      statuses[i%len(statuses)],
			Environment: "production",
			Time:        t.Add(time.Duration(i) * time.Minute),
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, _, err := st.CreateSteps(b.Context(), batch, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return st
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *int64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for !done.Load() {
			metrics.Read(sample)
			if v := int64(sample[0].Value.Uint64()); v > *peak {
				*peak = v
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() {
		done.Store(true)
		<-finished
	}
}
