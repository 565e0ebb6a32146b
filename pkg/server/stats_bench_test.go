package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

// BenchmarkDeploymentsAndStats times GET /v1/stats and a full GET
// /v1/deployments over a generated history (5 steps per deploy) and reports
// the peak live heap. STEPS_BENCH_ROWS sets the size (default 1,000,000);
// STEPS_TEST_MYSQL_DSN adds MySQL:
//
//	go test ./pkg/server -run '^$' -bench DeploymentsAndStats -benchtime 3x -timeout 30m
func BenchmarkDeploymentsAndStats(b *testing.B) {
	rows := testdb.BenchRows(b, 1_000_000)
	dbs := testdb.Benched()
	for name, fresh := range dbs {
		st := seed(b, fresh(b), rows)
		srv := httptest.NewServer(server.New(server.Config{Store: st}))
		for _, path := range []string{"/v1/stats?bucket=week", "/v1/stats?bucket=week&format=csv", "/v1/deployments?format=ndjson", "/v1/deployments?limit=20&order=desc"} {
			b.Run(fmt.Sprintf("db=%s/rows=%d/%s", name, rows, path), func(b *testing.B) {
				var peak int64
				for b.Loop() {
					stop := sampleHeap(&peak)
					res, err := http.Get(srv.URL + path)
					if err != nil {
						b.Fatal(err)
					}
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					stop()
					if err != nil || res.StatusCode != 200 {
						b.Fatalf("%s: %d %v", path, res.StatusCode, err)
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			})
		}
		srv.Close()
	}
}
