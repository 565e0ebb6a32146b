// Package traces exports finished deployments to an OpenTelemetry
// collector over OTLP/HTTP: one span per deployment (the pipeline run)
// with a child span per step, named by the CI/CD semantic conventions.
//
// Exporting never holds up a write. The server hands over each stored step
// (StepStored, which never blocks); a terminal step queues its deployment
// in a bounded queue, and one goroutine reads the deployment back, builds
// its spans and sends them in batches. A full queue or a failed export
// drops spans and counts them (steps_otlp_dropped_total), never a step.
//
// A step that arrives after its deployment was exported, with a time before
// that deployment's end (webhook deliveries come in any order), sends the
// deployment again: the same trace, now with the step.
package traces

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/steps-dev/steps/pkg/model"
)

// Deployments is what the exporter reads: the store's deployments.
type Deployments interface {
	EachDeployment(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error
}

// Defaults of Config.
const (
	DefaultQueue       = 1024            // deployments waiting to be exported
	DefaultBatchSpans  = 512             // spans per export request
	DefaultBatchDelay  = 2 * time.Second // longest wait before a partial batch goes
	DefaultTimeout     = 10 * time.Second
	maxStepsPerTrace   = 1000 // child spans of one deployment
	maxEnded           = 4096 // series whose ends are remembered for late steps
	maxEndsPerSeries   = 16   // ends remembered of each
	instrumentationURI = "github.com/steps-dev/steps/pkg/traces"
)

// Config configures an Exporter. Store and Rules are required; Endpoint or
// the OTEL_EXPORTER_OTLP_ENDPOINT environment variable says where to send.
type Config struct {
	// Endpoint is the collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT:
	// "http://collector:4318"); traces go to its /v1/traces. Empty means
	// the exporter's own reading of the OTEL_EXPORTER_OTLP_* variables.
	// OTEL_EXPORTER_OTLP_HEADERS adds headers either way.
	Endpoint string
	// TracesEndpoint is the URL the traces are posted to as it is (as
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces");
	// it wins over Endpoint, as the OpenTelemetry convention has it.
	TracesEndpoint string
	Store          Deployments
	Rules          model.DeploymentRules
	Logger         *slog.Logger
	Queue          int
	BatchSpans     int
	BatchDelay     time.Duration
	Timeout        time.Duration
	// Exporter replaces the OTLP/HTTP exporter (tests).
	Exporter sdktrace.SpanExporter
}

// Exporter sends finished deployments as traces. Create it with New, hand
// it stored steps with StepStored, and Close it to flush.
type Exporter struct {
	cfg      Config
	url      string
	exporter sdktrace.SpanExporter
	queue    chan model.Step
	done     chan struct{}
	closing  sync.Once
	log      *slog.Logger

	// ended holds the latest ends queued of each component, version and
	// environment (at most maxEndsPerSeries each, in time order; at most
	// maxEnded series, the oldest forgotten first), so that a step
	// arriving late into an exported deployment can send it again: the
	// one of the first end after the step, which is not always the
	// latest (jobs that run at once, a re-run, share the series).
	mu         sync.Mutex
	ended      map[seriesKey][]model.Step
	endedOrder []seriesKey
	// queued holds the ids of the steps waiting in the queue: a late
	// step whose deployment's end waits there already is read with it,
	// and does not take a second place in the queue.
	queued map[int64]struct{}

	exported prometheus.Counter
	dropped  *prometheus.CounterVec
}

// tracesURL is where cfg says the traces go: TracesEndpoint as it is, else
// Endpoint's /v1/traces; empty when neither is set.
func tracesURL(cfg Config) (string, error) {
	raw, asItIs, like := cfg.Endpoint, false, "http://collector:4318"
	if cfg.TracesEndpoint != "" {
		// Posted to as it is: the base URL's example, given here, sent
		// every export to / and got 404.
		raw, asItIs, like = cfg.TracesEndpoint, true, "http://collector:4318/v1/traces"
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not quoted: what does not parse cannot be redacted, and it may
		// hold a password.
		return "", fmt.Errorf("OTLP endpoint is not a URL (%s); want a URL such as %s", strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(raw)+": "), like)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("OTLP endpoint %q: want a URL such as %s", u.Redacted(), like)
	}
	// A base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is: the traces go to its
	// /v1/traces, below any path it has (Grafana Cloud's gateway is
	// https://otlp-gateway-….grafana.net/otlp). Its path alone was taken
	// for the traces' URL, and each export got 404. A URL that names
	// /v1/traces already is kept, as it always worked.
	if !asItIs && !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		u.RawPath = ""
	}
	return u.String(), nil
}

// warnProtocol says at start-up that an OTLP protocol asked for in the
// environment other than http/protobuf is not spoken. Set to grpc (the
// SDKs' default in some languages) beside an endpoint on the collector's
// gRPC port (4317), it was ignored without a word: stepsd started, said
// it exported, and each export then failed with an error that named
// neither the protocol nor the port.
func warnProtocol(log *slog.Logger) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			continue
		}
		if v != "http/protobuf" {
			log.Warn(name+" is not spoken: stepsd exports traces over OTLP/HTTP with protobuf (http/protobuf) only; "+
				"point the endpoint at the collector's OTLP/HTTP port (4318), not its gRPC one (4317)",
				"protocol", model.Shorten(v))
		}
		return // the traces' own variable wins over the base one
	}
}

// URL is where the traces are posted; empty when the exporter reads the
// OTEL_EXPORTER_OTLP_* variables itself.
func (e *Exporter) URL() string { return e.url }

// New starts an exporter.
func New(cfg Config) (*Exporter, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.BatchSpans <= 0 {
		cfg.BatchSpans = DefaultBatchSpans
	}
	if cfg.BatchDelay <= 0 {
		cfg.BatchDelay = DefaultBatchDelay
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	target, err := tracesURL(cfg)
	if err != nil {
		return nil, err
	}
	warnProtocol(cfg.Logger)
	exp := cfg.Exporter
	if exp == nil {
		var opts []otlptracehttp.Option
		if target != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(target))
		}
		opts = append(opts, otlptracehttp.WithTimeout(cfg.Timeout),
			// We retry by dropping: a collector down for minutes must not
			// hold the batches behind it.
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		if exp, err = otlptracehttp.New(context.Background(), opts...); err != nil {
			return nil, fmt.Errorf("OTLP exporter: %w", err)
		}
	}
	e := &Exporter{
		cfg:      cfg,
		url:      target,
		exporter: exp,
		queue:    make(chan model.Step, cfg.Queue),
		done:     make(chan struct{}),
		log:      cfg.Logger,
		exported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steps_otlp_exported_spans_total",
			Help: "Spans of finished deployments sent to the OTLP collector.",
		}),
		dropped: newDropped(),
	}
	go e.run()
	return e, nil
}

func newDropped() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steps_otlp_dropped_total",
		Help: "What was not exported, by reason: queue (a finished deployment met a full export queue), export (spans the collector refused or could not be reached for), read (a deployment that could not be read back).",
	}, []string{"reason"})
	for _, r := range []string{"queue", "export", "read"} {
		c.WithLabelValues(r)
	}
	return c
}

// Describe and Collect make the exporter's counters a Prometheus collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	e.exported.Describe(ch)
	e.dropped.Describe(ch)
}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.exported.Collect(ch)
	e.dropped.Collect(ch)
}

// seriesKey is the component, version and environment of a deployment.
type seriesKey struct{ component, version, environment string }

func keyOf(step model.Step) seriesKey {
	return seriesKey{step.Component, step.Version, step.Environment}
}

// StepStored is told of each stored step. A terminal one queues its
// deployment for export; so does one that lands before the end of a
// deployment already queued (a late webhook delivery: a GitLab pipeline's
// earlier jobs after its failed deploy job's Job Hook, a GitHub
// deployment's "queued" after its "success"), which is then exported
// again, whole. A full queue drops it. It never blocks.
func (e *Exporter) StepStored(step model.Step) {
	if e.cfg.Rules.Outcome(step.Status) == model.OutcomeInProgress {
		end, ok := e.endAfter(step)
		if !ok {
			return
		}
		step = end
	} else {
		e.remember(step)
	}
	if !e.markQueued(step.ID) {
		// Its deployment is read back after this step was stored.
		return
	}
	select {
	case e.queue <- step:
	default:
		e.unmarkQueued(step.ID)
		e.dropped.WithLabelValues("queue").Inc()
	}
}

// markQueued records that step id is about to be queued; false when it
// waits in the queue already.
func (e *Exporter) markQueued(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.queued[id]; ok {
		return false
	}
	if e.queued == nil {
		e.queued = make(map[int64]struct{})
	}
	e.queued[id] = struct{}{}
	return true
}

// unmarkQueued records that step id has left the queue. The run loop
// calls it before reading the deployment back, so that a step stored
// after that read queues the deployment again.
func (e *Exporter) unmarkQueued(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.queued, id)
}

// endAfter returns the remembered end of the deployment step lands in
// when that deployment was queued already: the first end of step's series
// after step.
func (e *Exporter) endAfter(step model.Step) (model.Step, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, end := range e.ended[keyOf(step)] {
		if step.Time.Before(end.Time) {
			return end, true
		}
	}
	return model.Step{}, false
}

// remember keeps end among its series' ends, in time order, one per
// time, forgetting the earliest beyond maxEndsPerSeries.
func (e *Exporter) remember(end model.Step) {
	k := keyOf(end)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended == nil {
		e.ended = make(map[seriesKey][]model.Step)
	}
	ends, ok := e.ended[k]
	if ok {
		// The series' text is its first end's: each end kept its own
		// copy of the same three strings.
		k = keyOf(ends[0])
	}
	// Kept is what the run loop reads a deployment back by (spans): the
	// series, the id and the time. The owner and revision of up to
	// maxEnded*maxEndsPerSeries ends are not held for nothing.
	end = model.Step{ID: end.ID, Component: k.component, Version: k.version, Environment: k.environment,
		Status: end.Status, Time: end.Time, ReceivedAt: end.ReceivedAt}
	if !ok {
		if len(e.endedOrder) >= maxEnded {
			delete(e.ended, e.endedOrder[0])
			e.endedOrder = e.endedOrder[1:]
		}
		e.endedOrder = append(e.endedOrder, k)
	}
	i := sort.Search(len(ends), func(i int) bool { return !ends[i].Time.Before(end.Time) })
	if i < len(ends) && ends[i].Time.Equal(end.Time) {
		// Of ends at one time only the first by id can be the first
		// after a step (ties are broken by id): the others would take
		// the places of earlier ends, which runs that end together (a
		// matrix, parallel jobs) filled.
		if end.ID < ends[i].ID {
			ends[i] = end
		}
		e.ended[k] = ends
		return
	}
	if len(ends) < maxEndsPerSeries {
		ends = slices.Insert(ends, i, end)
	} else {
		// Full: the earliest end goes, in place. Inserted first, the
		// slice grew to twice the bound before it was cut back, and 4096
		// series of 16 ends held 29 MiB, not 18.
		if i == 0 {
			return // earlier than every end kept: forgotten at once
		}
		copy(ends, ends[1:i])
		ends[i-1] = end
	}
	e.ended[k] = ends
}

// Close exports what is queued (within the exporter's timeout) and stops.
func (e *Exporter) Close(ctx context.Context) error {
	e.closing.Do(func() { close(e.queue) })
	select {
	case <-e.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.exporter.Shutdown(ctx)
}

// run builds the spans of each queued deployment and sends them in
// batches: when a batch is full, or BatchDelay after its first span. A
// deployment read again before its batch went (late steps, each of which
// queued it) replaces its earlier spans in the batch: the last read holds
// every step, and the collector gets the trace once, not once per step.
func (e *Exporter) run() {
	defer close(e.done)
	var (
		traces  [][]sdktrace.ReadOnlySpan // the batch, a deployment each
		indexOf = map[trace.TraceID]int{} // a deployment's place in traces
		spans   int                       // in the batch
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if spans == 0 {
			return
		}
		batch := make([]sdktrace.ReadOnlySpan, 0, spans)
		for _, t := range traces {
			batch = append(batch, t...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout)
		err := e.exporter.ExportSpans(ctx, batch)
		cancel()
		if err != nil {
			e.dropped.WithLabelValues("export").Add(float64(len(batch)))
			e.log.Warn("OTLP export failed; spans dropped", "spans", len(batch), "err", err)
		} else {
			e.exported.Add(float64(len(batch)))
		}
		traces, spans = traces[:0], 0
		clear(indexOf)
	}
	for {
		select {
		case step, ok := <-e.queue:
			if !ok {
				flush()
				return
			}
			e.unmarkQueued(step.ID)
			read, err := e.spans(step)
			if err != nil {
				e.dropped.WithLabelValues("read").Inc()
				e.log.Warn("OTLP export: deployment not read", "step", step.ID, "err", err)
				continue
			}
			if spans == 0 {
				timer.Reset(e.cfg.BatchDelay)
			}
			id := read[0].SpanContext().TraceID()
			if i, ok := indexOf[id]; ok {
				spans -= len(traces[i])
				traces[i] = read
			} else {
				indexOf[id] = len(traces)
				traces = append(traces, read)
			}
			spans += len(read)
			if spans >= e.cfg.BatchSpans {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// spans reads back the deployment that step ended and makes its spans.
func (e *Exporter) spans(step model.Step) ([]sdktrace.ReadOnlySpan, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.Timeout)
	defer cancel()
	f := model.DeploymentFilter{Filter: model.Filter{Component: step.Component, Version: step.Version, Environment: step.Environment,
		Since: step.Time.Add(-366 * 24 * time.Hour), Until: step.Time}}
	var found *model.Deployment
	err := e.cfg.Store.EachDeployment(ctx, f, e.cfg.Rules, time.Now(), func(d *model.Deployment) error {
		if d.Environment != step.Environment {
			return nil
		}
		for _, p := range d.Steps {
			if p.ID == step.ID {
				// The store may reuse d and its steps for the next one.
				c := *d
				c.Steps = append([]model.Phase(nil), d.Steps...)
				found = &c
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("no deployment holds step %d", step.ID)
	}
	return Spans(found), nil
}

// Spans makes the trace of a deployment: a root span for the run, from its
// first step to its last, and a child span per step, each lasting its
// phase. IDs are derived from the deployment's identity and each step's id
// (not its place, which a late step shifts), so the same deployment
// exported twice, or again with a late step, is the same trace.
func Spans(d *model.Deployment) []sdktrace.ReadOnlySpan {
	runID := fmt.Sprintf("%s/%s/%s#%d", d.Component, d.Version, d.Environment, d.Attempt)
	sum := sha256.Sum256([]byte(runID))
	var traceID trace.TraceID
	copy(traceID[:], sum[:16])
	spanID := func(i int64) trace.SpanID {
		s := sha256.Sum256(fmt.Appendf(nil, "%s/%d", runID, i))
		var id trace.SpanID
		copy(id[:], s[:8])
		return id
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", d.Component),
		attribute.String("service.version", d.Version),
	)
	scope := instrumentation.Scope{Name: instrumentationURI}
	root := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID(-1), TraceFlags: trace.FlagsSampled})

	steps := d.Steps
	if len(steps) > maxStepsPerTrace {
		steps = steps[:maxStepsPerTrace]
	}
	last := ""
	if len(d.Steps) > 0 {
		last = d.Steps[len(d.Steps)-1].Status
	}
	result := pipelineResult(d.Outcome, last)
	end := d.StartedAt
	if d.FinishedAt != nil {
		end = *d.FinishedAt
	}
	status := sdktrace.Status{Code: codes.Ok}
	if d.Outcome == model.OutcomeFailure {
		status = sdktrace.Status{Code: codes.Error, Description: last}
	}
	optional := []attribute.KeyValue{}
	if d.Environment != "" {
		optional = append(optional, attribute.String("deployment.environment.name", d.Environment))
	}
	if result != "success" {
		// Required by the CI/CD conventions for a run that did not
		// succeed: the class of error, here the status that ended it.
		optional = append(optional, attribute.String("error.type", cmp.Or(last, result)))
	}
	if d.Revision != "" {
		// The commit deployed, by OpenTelemetry's VCS conventions.
		optional = append(optional, attribute.String("vcs.ref.head.revision", d.Revision))
	}
	stubs := []tracetest.SpanStub{{
		Name:        "deploy " + d.Component,
		SpanContext: root,
		// A pipeline run is a SERVER span by the CI/CD conventions.
		SpanKind:  trace.SpanKindServer,
		StartTime: d.StartedAt,
		EndTime:   end,
		Attributes: append([]attribute.KeyValue{
			attribute.String("cicd.pipeline.name", "deploy "+d.Component),
			attribute.String("cicd.pipeline.result", result),
			attribute.String("cicd.pipeline.run.id", runID),
			attribute.String("service.name", d.Component),
			attribute.String("service.version", d.Version),
			attribute.String("enduser.id", d.Owner),
		}, optional...),
		Status:               status,
		Resource:             res,
		InstrumentationScope: scope,
	}}
	for i, p := range steps {
		stepEnd := p.Time
		if p.DurationSeconds != nil {
			stepEnd = p.Time.Add(time.Duration(*p.DurationSeconds * float64(time.Second)))
		}
		// The phase before a failing end is the one that failed, or was
		// cancelled or timed out: it has the run's result, as its end
		// has. Given "failure" always, a cancelled rollout showed as a
		// failed one beside a run whose result was cancellation.
		taskResult := "success"
		if i == len(d.Steps)-1 || i == len(d.Steps)-2 && d.Outcome == model.OutcomeFailure {
			taskResult = result
		}
		st := sdktrace.Status{}
		if taskResult == "failure" {
			st = sdktrace.Status{Code: codes.Error}
		}
		stubs = append(stubs, tracetest.SpanStub{
			Name:        p.Status,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID(p.ID), TraceFlags: trace.FlagsSampled}),
			Parent:      root,
			SpanKind:    trace.SpanKindInternal,
			StartTime:   p.Time,
			EndTime:     stepEnd,
			Attributes: []attribute.KeyValue{
				attribute.String("cicd.pipeline.task.name", p.Status),
				attribute.String("cicd.pipeline.task.run.result", taskResult),
				attribute.String("cicd.pipeline.task.run.id", fmt.Sprint(p.ID)),
			},
			Status:               st,
			Resource:             res,
			InstrumentationScope: scope,
		})
	}
	return tracetest.SpanStubs(stubs).Snapshots()
}

// pipelineResult is the cicd.pipeline.result of a deployment: success,
// failure, or cancellation when it ended with a cancel.
func pipelineResult(outcome, last string) string {
	switch {
	case outcome == model.OutcomeSuccess:
		return "success"
	case strings.HasPrefix(model.FoldStatus(last), "cancel") || strings.HasPrefix(model.FoldStatus(last), "abort"):
		return "cancellation"
	case strings.Contains(model.FoldStatus(last), "timeout") || strings.Contains(model.FoldStatus(last), "timed"):
		return "timeout"
	default:
		return "failure"
	}
}
