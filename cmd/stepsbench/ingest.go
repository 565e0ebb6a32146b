package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one ingest load: n POSTs at a fixed concurrency.
type loadResult struct {
	Requests  int
	Errors    int // anything but 201, and requests never sent (timeout)
	Locked    int // errors that say the database was locked or busy
	Elapsed   time.Duration
	P50, P99  time.Duration
	FirstErr  string
	Completed int
}

// ReqPerSec is the completed requests per second of wall time.
func (r loadResult) ReqPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Completed) / r.Elapsed.Seconds()
}

// newLoadClient returns an HTTP client for one load: enough idle
// connections for every worker, no compression, no HTTP/2, and a bounded
// wait per request. net/http never retries these POSTs (they carry no
// Idempotency-Key), so every error counts.
func newLoadClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conc + 16,
			MaxIdleConnsPerHost: conc + 16,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

var loadStatuses = []string{"build", "tests", "migrate", "rollout", "finished"}

// stepURL is the i-th request of a load: a step of a generated deploy, as
// a deploy script sends it (the original API's query string).
func stepURL(base string, i int) string {
	var b strings.Builder
	b.Grow(len(base) + 100)
	b.WriteString(base)
	b.WriteString("/v1/steps?component=load-")
	b.WriteString(strconv.Itoa(i % 8))
	b.WriteString("&version=1.")
	b.WriteString(strconv.Itoa(i / 40))
	b.WriteString(".0&owner=bench&status=")
	b.WriteString(loadStatuses[i%len(loadStatuses)])
	b.WriteString("&environment=production")
	return b.String()
}

// runLoad sends n POST /v1/steps to base from conc workers, each sending
// its next request as soon as its last is answered, and measures each
// request's latency. It stops early when ctx ends; requests not sent then
// count as errors.
func runLoad(ctx context.Context, hc *http.Client, base string, n, conc, offset int) loadResult {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs, locked, completed atomic.Int64
	var firstErr sync.Once
	var first string
	fail := func(msg string) {
		errs.Add(1)
		firstErr.Do(func() { first = msg })
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, stepURL(base, offset+i), nil)
				if err != nil {
					fail(err.Error())
					continue
				}
				res, err := hc.Do(req)
				if err != nil {
					fail(err.Error())
					lat[i] = time.Since(t0)
					continue
				}
				var body []byte
				if res.StatusCode != http.StatusCreated {
					body, _ = io.ReadAll(io.LimitReader(res.Body, 512))
				}
				io.Copy(io.Discard, res.Body) //nolint:errcheck // the status is what counts
				res.Body.Close()
				lat[i] = time.Since(t0)
				completed.Add(1)
				if res.StatusCode != http.StatusCreated {
					text := strings.ToLower(string(body))
					if strings.Contains(text, "locked") || strings.Contains(text, "busy") {
						locked.Add(1)
					}
					fail(fmt.Sprintf("%s: %s", res.Status, strings.TrimSpace(string(body))))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	sent := min(int(next.Load()), n)
	r := loadResult{
		Requests:  n,
		Errors:    int(errs.Load()) + (n - sent),
		Locked:    int(locked.Load()),
		Elapsed:   elapsed,
		Completed: int(completed.Load()),
		FirstErr:  first,
	}
	if sent < n && r.FirstErr == "" {
		r.FirstErr = fmt.Sprintf("stopped after %d of %d requests: %v", sent, n, ctx.Err())
	}
	done := slices.Clone(lat[:sent])
	slices.Sort(done)
	r.P50 = percentile(done, 0.50)
	r.P99 = percentile(done, 0.99)
	return r
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
