package client_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// A batch refused because the server holds too many writes (503 past
// --max-write-bytes) or the client too many batches (429 past
// --client-batches) is retried by the client, after Retry-After, under the
// same key, and stored once.
func TestBatchRefusedByWriteBoundsIsRetried(t *testing.T) {
	batch := func(comp string) []model.StepInput {
		ins := make([]model.StepInput, 200)
		for i := range ins {
			ins[i] = model.StepInput{Component: comp, Version: fmt.Sprint(i), Owner: "ana", Status: "build",
				Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		}
		return ins
	}
	for _, tc := range []struct {
		name   string
		cfg    server.Config
		status int
	}{
		{"client-batches", server.Config{ClientBatches: 1}, http.StatusTooManyRequests},
		// Room for one batch and a half (MaxBatchBytes is set below).
		{"max-write-bytes", server.Config{WriteWait: 100 * time.Millisecond}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := heldstore.New(testdb.Open(t, testdb.SQLite(t)))
			tc.cfg.Store = held
			if tc.cfg.WriteWait > 0 {
				b, err := json.Marshal(batch("second"))
				if err != nil {
					t.Fatal(err)
				}
				tc.cfg.MaxBatchBytes = int64(len(b)) * 3 / 2
				tc.cfg.MaxWriteBytes = tc.cfg.MaxBatchBytes
				tc.cfg.MaxBodyBytes = 8 << 10 // the bound is never below it either
				// Both batches come from this one client: no share of
				// its own, so that the second waits for room, then 503.
				tc.cfg.ClientWriteBytes = 4 * tc.cfg.MaxWriteBytes
			}
			api := server.New(tc.cfg)
			var refused atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := &statusRecorder{ResponseWriter: w}
				api.ServeHTTP(rec, r)
				if rec.status == tc.status {
					refused.Add(1)
				}
			}))
			t.Cleanup(ts.Close)
			t.Cleanup(held.Release)
			c, err := client.New(ts.URL, client.WithRetry(client.RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: 15 * time.Second}))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			first := make(chan error, 1)
			go func() {
				_, err := c.RecordBatch(ctx, batch("first"))
				first <- err
			}()
			held.WaitEntered(t, 1)
			time.AfterFunc(500*time.Millisecond, held.Release)
			steps, err := c.RecordBatch(ctx, batch("second"))
			if err != nil {
				t.Fatalf("second batch: %v, want it stored after retries", err)
			}
			if err := <-first; err != nil {
				t.Fatalf("first batch: %v", err)
			}
			if n := refused.Load(); n == 0 {
				t.Errorf("no %d answered while the first batch was held; want the second refused, then retried", tc.status)
			}
			for _, comp := range []string{"first", "second"} {
				got, err := c.List(ctx, model.Filter{Component: comp})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 200 {
					t.Errorf("%s batch: %d steps stored, want 200 (once)", comp, len(got))
				}
			}
			if len(steps) != 200 {
				t.Errorf("second batch answered %d steps, want 200", len(steps))
			}
		})
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
