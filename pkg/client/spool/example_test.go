package spool_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/client/spool"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// Keep a deploy's steps through a tracker outage and deliver them later,
// each once and with the time it happened, as stepsctl record does.
func Example() {
	serverURL, setDown, stop := exampleServer() // a stepsd behind a load balancer
	defer stop()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "spool-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	c, err := client.New(serverURL, client.WithRetry(client.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		log.Fatal(err)
	}
	record := func(status string, at time.Time) {
		key := client.NewIdempotencyKey()
		in := model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: status, Time: at}
		_, err := c.RecordWithKey(ctx, key, in)
		switch {
		case client.IsTemporary(err): // no answer, 429, 5xx: keep it, the deploy goes on
			n, err := sp.Append(ctx, spool.Entry{Key: key, Server: c.BaseURL(), Input: in})
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(status, "spooled,", n, "waiting")
		case err != nil: // refused (400, 401, …): sending it again would not help
			log.Fatal(err)
		default:
			fmt.Println(status, "recorded")
		}
	}

	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	record("build", start)
	setDown(true) // the tracker restarts: 503
	record("tests", start.Add(2*time.Minute))
	record("finished", start.Add(9*time.Minute))
	setDown(false)

	// Later: the next run, or a timer. Delivery sends each entry under its
	// key, so one already stored is not stored twice.
	res, err := sp.Deliver(ctx, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivered", res.Delivered, "remaining", res.Remaining)
	for s, err := range c.Steps(ctx, model.Filter{Component: "api"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Status, s.Time.Format(time.TimeOnly))
	}
	// Output:
	// build recorded
	// tests spooled, 1 waiting
	// finished spooled, 2 waiting
	// delivered 2 remaining 0
	// build 09:00:00
	// tests 09:02:00
	// finished 09:09:00
}

// exampleServer starts a stepsd in-process over a temporary SQLite
// database, behind a front that answers 503 while setDown(true).
func exampleServer() (url string, setDown func(bool), stop func()) {
	dir, err := os.MkdirTemp("", "steps-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "steps.db"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	h := server.New(server.Config{Store: st, Now: now})
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "upstream restarting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	return srv.URL, down.Store, func() {
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	}
}
