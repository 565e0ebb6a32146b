package server

import (
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own (no
// global state: two servers in one process, as in tests, do not collide).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	recorded prometheus.Counter
	// hookEvents counts webhook deliveries by provider and outcome
	// (stored, ignored, refused): both label sets are fixed by us.
	hookEvents *prometheus.CounterVec

	// byRequest caches the counter and histogram of each label set seen,
	// so that a request costs one map read instead of hashing its labels
	// twice under the vectors' locks. It is copied on write: reads take no
	// lock. Its keys are labels, so it is as bounded as they are.
	byRequest   atomic.Pointer[map[requestLabels]requestMetrics]
	byRequestMu sync.Mutex // serialises the rare writes
}

// requestLabels are the labels of one request's metrics, each from a
// bounded set (see observe).
type requestLabels struct {
	route, method string
	status        int // 0 for one out of range
}

type requestMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func newMetrics(store Store, version string) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steps_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "steps_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		recorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steps_recorded_total",
			Help: "Steps stored (replays of an idempotency key not counted).",
		}),
		hookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steps_webhook_deliveries_total",
			Help: "Webhook deliveries by provider (github, gitlab) and outcome (stored, ignored, refused).",
		}, []string{"provider", "outcome"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "steps_build_info",
		Help:        "Build of stepsd; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": goVersion()},
	})
	build.Set(1)
	reg.MustRegister(m.requests, m.latency, m.recorded, m.hookEvents, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if withDB, ok := store.(interface{ DB() *sql.DB }); ok {
		reg.MustRegister(collectors.NewDBStatsCollector(withDB.DB(), "steps"))
	}
	// MySQL's write transactions have a pool of their own.
	if withWriter, ok := store.(interface{ WriteDB() *sql.DB }); ok {
		if w := withWriter.WriteDB(); w != nil {
			reg.MustRegister(collectors.NewDBStatsCollector(w, "steps_writes"))
		}
	}
	if sealing, ok := store.(interface{ SealingProgress() (int64, int64) }); ok {
		// Whether sealing has caught up (stepsbench waits for it before
		// timing reads): see docs/operations.md.
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "steps_sealing_passes_total",
			Help: "Passes of sealing deployments into blocks completed by this stepsd.",
		}, func() float64 {
			passes, _ := sealing.SealingProgress()
			return float64(passes)
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "steps_unsealed_deployments",
			Help: "Deployments not in a sealed block after the latest pass (-1 before the first).",
		}, func() float64 {
			_, unsealed := sealing.SealingProgress()
			return float64(unsealed)
		}))
	}
	return m
}

func goVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.GoVersion
	}
	return "unknown"
}

// observe records one request. Every label comes from a bounded set, since
// any client, before auth and rate limit, picks what it sends: route is the
// ServeMux pattern that matched, never the raw path; the method is one of
// the standard ones or "other"; the status a three-digit code or "other".
// A request that matched no route, answered by the catch-all patterns "/"
// and "/ui/" (404) or by a middleware before the mux, counts as
// "unmatched", as the docs say: "/" read as the page's route.
func (m *metrics) observe(route, method string, status int, took time.Duration) {
	if route == "" || route == notFoundPattern || route == uiNotFoundPattern {
		route = "unmatched"
	}
	labels := requestLabels{route: route, method: methodLabel(method), status: status}
	if status < 100 || status > 599 {
		labels.status = 0
	}
	rm, ok := m.requestMetrics(labels)
	if !ok {
		rm = m.addRequestMetrics(labels)
	}
	rm.count.Inc()
	rm.latency.Observe(took.Seconds())
}

func (m *metrics) requestMetrics(labels requestLabels) (requestMetrics, bool) {
	cache := m.byRequest.Load()
	if cache == nil {
		return requestMetrics{}, false
	}
	rm, ok := (*cache)[labels]
	return rm, ok
}

// addRequestMetrics resolves a label set not seen before and caches it.
func (m *metrics) addRequestMetrics(labels requestLabels) requestMetrics {
	m.byRequestMu.Lock()
	defer m.byRequestMu.Unlock()
	if rm, ok := m.requestMetrics(labels); ok {
		return rm
	}
	code := "other"
	if labels.status != 0 {
		code = strconv.Itoa(labels.status)
	}
	rm := requestMetrics{
		count:   m.requests.WithLabelValues(labels.route, labels.method, code),
		latency: m.latency.WithLabelValues(labels.route, labels.method),
	}
	next := map[requestLabels]requestMetrics{labels: rm}
	if cache := m.byRequest.Load(); cache != nil {
		maps.Copy(next, *cache)
	}
	m.byRequest.Store(&next)
	return rm
}

// methodLabel maps the methods of RFC 9110 (and PATCH) to themselves and any
// other token a client invents to "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// handleMetrics serves GET /metrics in the Prometheus text format.
func (s *Server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// watchLimiter exports how many clients the rate limiter remembers: a
// bounded number (RateClients), which an operator can watch stay so. The
// help states the bound as a number: it is no flag of stepsd, so naming a
// setting sent operators looking for one.
func (m *metrics) watchLimiter(l *rateLimiter) {
	if l == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "steps_rate_limited_clients",
		Help: fmt.Sprintf("Clients the rate limiter currently remembers; at most %d, the least recent forgotten first.", l.maxClients),
	}, func() float64 { return float64(l.len()) }))
}
