package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/heldstore"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// An analysis refused because the server computes its bound of analyses
// at once (503 past --max-analyses) is retried by the client, after
// Retry-After, and answered once its turn comes.
func TestAnalysisRefusedByItsBoundIsRetried(t *testing.T) {
	held := heldstore.NewReads(testdb.Open(t, testdb.SQLite(t)))
	api := server.New(server.Config{Store: held, MaxAnalyses: 1, AnalysisWait: 10 * time.Millisecond})
	var refused atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		api.ServeHTTP(rec, r)
		if rec.status == http.StatusServiceUnavailable {
			refused.Add(1)
			held.Release() // the first analysis ends after a refusal
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(held.Release)
	c, err := client.New(ts.URL, client.WithRetry(client.RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: 20 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := c.Stats(ctx, model.Filter{}, model.StatsOptions{})
		first <- err
	}()
	held.WaitEntered(t, 1)
	if _, err := c.DORA(ctx, model.Filter{}, model.DORAOptions{}); err != nil {
		t.Fatalf("DORA while stats held the one slot: %v, want it answered after retries", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("stats: %v", err)
	}
	if n := refused.Load(); n == 0 {
		t.Error("no 503 answered while the first analysis held the slot; want DORA refused, then retried")
	}
}
