package traces

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	oteltrace "go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// collector is an OTLP/HTTP receiver: it decodes the protobuf requests
// that reach /v1/traces and keeps their spans.
type collector struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	res     map[string]map[string]string // span id → resource attributes
	headers http.Header
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf on /v1/traces", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headers = r.Header.Clone()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				c.spans = append(c.spans, sp)
				c.res[hex.EncodeToString(sp.SpanId)] = attrs(rs.Resource.Attributes)
			}
		}
	}
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b) //nolint:errcheck // test receiver
}

// startCollector serves a collector, closed when the test ends.
func startCollector(t *testing.T) (*collector, *httptest.Server) {
	t.Helper()
	col := &collector{res: map[string]map[string]string{}}
	otlp := httptest.NewServer(col)
	t.Cleanup(otlp.Close)
	return col, otlp
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}

func fmtAttrs(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + " ")
	}
	return strings.TrimSpace(b.String())
}

func post(t *testing.T, url, query string) {
	t.Helper()
	res, err := http.Post(url+"/v1/steps?"+query, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s = %d", query, res.StatusCode)
	}
}

func TestFinishedDeploymentIsExportedAsATrace(t *testing.T) {
	col, otlp := startCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=payments")

	st := testdb.Open(t, testdb.SQLite(t))
	rules := model.DefaultDeploymentRules()
	exp, err := New(Config{Endpoint: otlp.URL, Store: st, Rules: rules, BatchDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp}))
	defer api.Close()

	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	post(t, api.URL, "component=api&version=1.2.0&owner=ana&environment=production&status=build&time="+at(0))
	post(t, api.URL, "component=api&version=1.2.0&owner=ana&environment=production&status=migrate&revision=9f1c2e7&time="+at(2*time.Minute))
	post(t, api.URL, "component=api&version=1.2.0&owner=ana&environment=production&status=rollout&time="+at(3*time.Minute))
	post(t, api.URL, "component=api&version=1.2.0&owner=ana&environment=production&status=failed&time="+at(7*time.Minute))
	post(t, api.URL, "component=web&version=9&owner=bo&status=build&time="+at(0)) // in progress: not exported

	if err := exp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.spans) != 5 {
		t.Fatalf("collector got %d spans, want 5 (a deployment and its 4 steps)", len(col.spans))
	}
	sort.Slice(col.spans, func(i, j int) bool {
		return col.spans[i].StartTimeUnixNano < col.spans[j].StartTimeUnixNano || len(col.spans[i].ParentSpanId) < len(col.spans[j].ParentSpanId)
	})
	var root *tracepb.Span
	for _, sp := range col.spans {
		if len(sp.ParentSpanId) == 0 {
			root = sp
		}
	}
	if root == nil {
		t.Fatal("no root span")
	}
	ra := attrs(root.Attributes)
	for k, want := range map[string]string{"cicd.pipeline.name": "deploy api", "cicd.pipeline.result": "failure",
		"cicd.pipeline.run.id": "api/1.2.0/production#1", "deployment.environment.name": "production",
		"service.name": "api", "service.version": "1.2.0", "vcs.ref.head.revision": "9f1c2e7", "error.type": "failed"} {
		if ra[k] != want {
			t.Errorf("root %s = %q, want %q", k, ra[k], want)
		}
	}
	if res := col.res[hex.EncodeToString(root.SpanId)]; res["service.name"] != "api" || res["service.version"] != "1.2.0" {
		t.Errorf("resource %v", res)
	}
	if !time.Unix(0, int64(root.StartTimeUnixNano)).Equal(t0) || time.Unix(0, int64(root.EndTimeUnixNano)).Sub(t0) != 7*time.Minute {
		t.Errorf("root span from %v to %v", time.Unix(0, int64(root.StartTimeUnixNano)).UTC(), time.Unix(0, int64(root.EndTimeUnixNano)).UTC())
	}
	if root.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("root status %v", root.Status)
	}
	if root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("root kind %v, want SERVER (a pipeline run, by the CI/CD conventions)", root.Kind)
	}
	type child struct {
		name, result string
		start, dur   time.Duration
	}
	var got []child
	for _, sp := range col.spans {
		if len(sp.ParentSpanId) == 0 {
			continue
		}
		if !bytes.Equal(sp.ParentSpanId, root.SpanId) || !bytes.Equal(sp.TraceId, root.TraceId) {
			t.Errorf("span %s is not a child of the deployment", sp.Name)
		}
		a := attrs(sp.Attributes)
		if a["cicd.pipeline.task.name"] != sp.Name {
			t.Errorf("span %s task name %q", sp.Name, a["cicd.pipeline.task.name"])
		}
		got = append(got, child{sp.Name, a["cicd.pipeline.task.run.result"],
			time.Unix(0, int64(sp.StartTimeUnixNano)).Sub(t0), time.Duration(sp.EndTimeUnixNano - sp.StartTimeUnixNano)})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].start < got[j].start })
	want := []child{{"build", "success", 0, 2 * time.Minute}, {"migrate", "success", 2 * time.Minute, time.Minute},
		{"rollout", "failure", 3 * time.Minute, 4 * time.Minute}, {"failed", "failure", 7 * time.Minute, 0}}
	if len(got) != len(want) {
		t.Fatalf("children %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("child %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The tree, for the eye (go test -v).
	tree := "\n" + root.Name + "  " + time.Duration(root.EndTimeUnixNano-root.StartTimeUnixNano).String() + "  " + fmtAttrs(ra)
	for _, c := range got {
		tree += "\n  └ " + c.name + "  +" + c.start.String() + "  " + c.dur.String() + "  result=" + c.result
	}
	t.Log(tree)
	if col.headers.Get("x-team") != "payments" {
		t.Errorf("OTEL_EXPORTER_OTLP_HEADERS not sent: %v", col.headers)
	}
	if n := testutil.ToFloat64(exp.exported); n != 5 {
		t.Errorf("exported counter %v", n)
	}
}

// TestUnreachableCollectorCostsSpansNotSteps: writes succeed at once, and
// the spans that could not go are counted.
func TestUnreachableCollectorCostsSpansNotSteps(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	st := testdb.Open(t, testdb.SQLite(t))
	exp, err := New(Config{Endpoint: url, Store: st, Rules: model.DefaultDeploymentRules(), BatchDelay: 10 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp}))
	defer api.Close()
	start := time.Now()
	for i := range 20 {
		post(t, api.URL, "component=api&owner=ana&status=build&version=v"+strings.Repeat("1", i+1))
		post(t, api.URL, "component=api&owner=ana&status=finished&version=v"+strings.Repeat("1", i+1))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("40 writes took %v with the collector down", took)
	}
	exp.Close(context.Background()) //nolint:errcheck // the collector is down
	if n := testutil.ToFloat64(exp.dropped.WithLabelValues("export")); n != 60 {
		t.Errorf("dropped spans %v, want 60 (20 deployments of 3 spans)", n)
	}
	n := 0
	st.ListSteps(context.Background(), model.Filter{}, func(model.Step) error { n++; return nil }) //nolint:errcheck // counted below
	if n != 40 {
		t.Errorf("%d steps stored, want 40", n)
	}
}

// TestFullQueueDropsAndCounts: a deployment that meets a full queue is
// dropped and counted; a late step whose deployment waits in the queue
// already takes no place of its own (it used to take one per step, and a
// delivery of late steps filled the queue with copies of one deployment).
func TestFullQueueDropsAndCounts(t *testing.T) {
	blocked := make(chan struct{})
	e := &Exporter{cfg: Config{Rules: model.DefaultDeploymentRules()}, queue: make(chan model.Step, 1), done: blocked}
	e.dropped = newDropped()
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	e.StepStored(model.Step{ID: 3, Component: "api", Version: "1", Status: "finished", Time: t0.Add(time.Minute)})
	e.StepStored(model.Step{ID: 1, Component: "api", Version: "1", Status: "build", Time: t0})                 // late: read with its end
	e.StepStored(model.Step{ID: 2, Component: "api", Version: "1", Status: "test", Time: t0.Add(time.Second)}) // late too
	e.StepStored(model.Step{ID: 4, Component: "web", Version: "1", Status: "finished", Time: t0})
	e.StepStored(model.Step{ID: 5, Component: "web", Version: "2", Status: "build", Time: t0}) // not terminal: not queued
	if n := testutil.ToFloat64(e.dropped.WithLabelValues("queue")); n != 1 {
		t.Errorf("queue drops %v, want 1 (web's deployment)", n)
	}
	if got := <-e.queue; got.ID != 3 {
		t.Errorf("queued step %d, want 3", got.ID)
	}
}

// TestSucceededRunHasNoErrorType: error.type is for a run that did not
// succeed (the CI/CD conventions require it there); a success has none,
// and its root is still a SERVER span.
func TestSucceededRunHasNoErrorType(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	d := &model.Deployment{Component: "api", Version: "1.2.0", Environment: "production", Attempt: 1, Outcome: model.OutcomeSuccess,
		StartedAt: t0, Steps: []model.Phase{{ID: 1, Status: "build", Time: t0}, {ID: 2, Status: "finished", Time: t0.Add(time.Minute)}}}
	root := Spans(d)[0]
	for _, kv := range root.Attributes() {
		if kv.Key == "error.type" {
			t.Errorf("a success has error.type %q", kv.Value.AsString())
		}
	}
	if root.SpanKind() != oteltrace.SpanKindServer {
		t.Errorf("root kind %v, want server", root.SpanKind())
	}
}

// TestLateStepExportsTheDeploymentAgain: webhook deliveries come in any
// order. A GitHub deployment's "success" delivered before its "queued" and
// "in_progress" was exported as a trace of the end alone, 0 s long, and
// never again; the late statuses now send the deployment again, the same
// trace with every step, each step's span keeping its id.
func TestLateStepExportsTheDeploymentAgain(t *testing.T) {
	col, otlp := startCollector(t)
	st := testdb.Open(t, testdb.SQLite(t))
	exp, err := New(Config{Endpoint: otlp.URL, Store: st, Rules: model.DefaultDeploymentRules(), BatchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "hook-secret-123"
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp, GitHubSecret: secret}))
	defer api.Close()

	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	deliver := func(id int, state string, at time.Duration) {
		t.Helper()
		body := fmt.Appendf(nil, `{"action":"created","deployment_status":{"id":%d,"state":%q,"created_at":%q},`+
			`"deployment":{"id":7,"sha":"9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b","ref":"v2.0.0","environment":"production"},`+
			`"repository":{"name":"web","full_name":"acme/web"},"sender":{"login":"cy"}}`, id, state, t0.Add(at).Format(time.RFC3339))
		req, _ := http.NewRequest("POST", api.URL+"/v1/hooks/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment_status")
		req.Header.Set("X-Hub-Signature-256", hooks.SignGitHub(secret, body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("deployment_status %s = %d", state, res.StatusCode)
		}
	}
	deliver(3, "success", 5*time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(exp.exported) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the end alone has gone out
	}
	deliver(1, "queued", 0)
	deliver(2, "in_progress", time.Minute)
	if err := exp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	// The last export of each span id is what a backend shows.
	last := map[string]*tracepb.Span{}
	var order []string
	for _, sp := range col.spans {
		id := hex.EncodeToString(sp.SpanId)
		if prev, ok := last[id]; !ok {
			order = append(order, id)
		} else if prev.Name != sp.Name {
			// A span id taken from the step's place would now name
			// another step: a backend would show queued for finished.
			t.Errorf("span %s was %s, then %s", id, prev.Name, sp.Name)
		}
		last[id] = sp
	}
	var root *tracepb.Span
	var children []string
	for _, id := range order {
		sp := last[id]
		if len(sp.ParentSpanId) == 0 {
			root = sp
			continue
		}
		children = append(children, fmt.Sprintf("%s@%s", sp.Name, time.Unix(0, int64(sp.StartTimeUnixNano)).Sub(t0)))
	}
	if root == nil {
		t.Fatal("no root span")
	}
	if got := time.Duration(root.EndTimeUnixNano - root.StartTimeUnixNano); got != 5*time.Minute {
		t.Errorf("the deployment's span lasts %v, want 5m0s (queued to finished)", got)
	}
	sort.Strings(children)
	if got, want := strings.Join(children, " "), "finished@5m0s in_progress@1m0s queued@0s"; got != want {
		t.Errorf("step spans %q, want %q (one span per step, whatever the order of export)", got, want)
	}
}

// TestCancelledRunEndsInACancelledPhase: the phase a deployment ended in
// has the run's result. A deploy cancelled (a GitHub job's "cancelled", a
// GitLab pipeline's "canceled") or timed out during its rollout showed
// that rollout as a failure, with an error status, beside a run and an
// end step whose result was cancellation or timeout; OpenTelemetry's
// GitHub receiver gives a cancelled step cancellation too.
func TestCancelledRunEndsInACancelledPhase(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct{ end, want string }{{"cancelled", "cancellation"}, {"timed-out", "timeout"}, {"failed", "failure"}} {
		d := &model.Deployment{Component: "api", Version: "1.2.0", Environment: "production", Attempt: 1, Outcome: model.OutcomeFailure,
			StartedAt: t0, Steps: []model.Phase{{ID: 1, Status: "build", Time: t0}, {ID: 2, Status: "rollout", Time: t0.Add(time.Minute)},
				{ID: 3, Status: c.end, Time: t0.Add(3 * time.Minute)}}}
		got := map[string]string{}
		for _, sp := range Spans(d) {
			for _, kv := range sp.Attributes() {
				if kv.Key == "cicd.pipeline.result" || kv.Key == "cicd.pipeline.task.run.result" {
					got[sp.Name()] = kv.Value.AsString()
				}
			}
		}
		want := map[string]string{"deploy api": c.want, "build": "success", "rollout": c.want, c.end: c.want}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ended %s: results %v, want %v", c.end, got, want)
		}
	}
}

// TestLateStepsOfOneDeliveryExportTheDeploymentOnce: a GitLab deploy job's
// failed Job Hook ends its deployment before the Pipeline Hook brings the
// jobs that ran before it. Each of those late jobs sent the whole
// deployment again: five jobs, five more copies of the trace (6 exports
// of its root where 2 do), duplicates a backend shows and that filled the
// export queue. The deployment read after the last of them is sent once.
func TestLateStepsOfOneDeliveryExportTheDeploymentOnce(t *testing.T) {
	col, otlp := startCollector(t)
	st := testdb.Open(t, testdb.SQLite(t))
	exp, err := New(Config{Endpoint: otlp.URL, Store: st, Rules: model.DefaultDeploymentRules(), BatchDelay: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const token = "gl-hook-token-123"
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp, GitLabToken: token}))
	defer api.Close()
	deliver := func(event, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", api.URL+"/v1/hooks/gitlab", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitlab-Event", event)
		req.Header.Set("X-Gitlab-Token", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("%s = %d", event, res.StatusCode)
		}
	}
	const common = `"project":{"name":"payments","path_with_namespace":"acme/payments"},"user":{"username":"carol"}`
	deliver("Job Hook", `{"object_kind":"build","build_id":506,"build_name":"deploy","build_status":"failed",`+
		`"build_started_at":"2026-03-02 08:25:00 UTC","build_finished_at":"2026-03-02 08:27:30 UTC","pipeline_id":12,`+
		`"ref":"main","sha":"c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00","environment":{"name":"staging"},`+common+`}`)
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(exp.exported) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the job and its end have gone out
	}
	var builds []string
	for i, name := range []string{"build", "test", "lint", "scan", "migrate"} {
		builds = append(builds, fmt.Sprintf(`{"id":%d,"name":%q,"status":"success","started_at":"2026-03-02 08:2%d:00 UTC","finished_at":"2026-03-02 08:2%d:00 UTC"}`, 501+i, name, i, i+1))
	}
	builds = append(builds, `{"id":506,"name":"deploy","status":"failed","started_at":"2026-03-02 08:25:00 UTC","finished_at":"2026-03-02 08:27:30 UTC","environment":{"name":"staging"}}`)
	deliver("Pipeline Hook", `{"object_kind":"pipeline","object_attributes":{"id":12,"status":"failed","ref":"main",`+
		`"sha":"c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00","finished_at":"2026-03-02 08:27:30 UTC"},"builds":[`+strings.Join(builds, ",")+`],`+common+`}`)
	if err := exp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	roots, children := 0, map[string]bool{}
	for _, sp := range col.spans {
		if len(sp.ParentSpanId) == 0 {
			roots++
		} else {
			children[sp.Name] = true
		}
	}
	if roots != 2 {
		t.Errorf("the deployment was exported %d times, want 2 (its end, then once with the late jobs)", roots)
	}
	if len(children) != 7 {
		t.Errorf("step spans %v, want the 6 jobs and failed", children)
	}
}

// TestLateStepSendsItsOwnDeploymentAgain: a late step lands in the
// deployment whose end comes first after it, which is not always the
// latest end of its component, version and environment: jobs of one
// commit that run at once (lint and test without needs:) share them, and
// the first to end closes its deployment. A step of the slower job stored
// after a later deployment had ended sent that later deployment again, and
// the trace of its own never showed it.
func TestLateStepSendsItsOwnDeploymentAgain(t *testing.T) {
	col, otlp := startCollector(t)
	st := testdb.Open(t, testdb.SQLite(t))
	exp, err := New(Config{Endpoint: otlp.URL, Store: st, Rules: model.DefaultDeploymentRules(), BatchDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp}))
	defer api.Close()

	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	record := func(status string, at time.Duration) {
		t.Helper()
		post(t, api.URL, "component=api&version=1.2.0&owner=ana&environment=production&status="+status+"&time="+t0.Add(at).Format(time.RFC3339))
	}
	exported := func(n float64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for testutil.ToFloat64(exp.exported) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	record("build", 0)
	record("finished", 2*time.Minute) // attempt 1 ends
	exported(3)
	record("test", 150*time.Second)
	record("finished", 4*time.Minute) // attempt 2 ends
	exported(6)
	record("lint", time.Minute) // late, into attempt 1
	if err := exp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	runOf := map[string]string{} // root span id → its run id
	for _, sp := range col.spans {
		if len(sp.ParentSpanId) == 0 {
			runOf[hex.EncodeToString(sp.SpanId)] = attrs(sp.Attributes)["cicd.pipeline.run.id"]
		}
	}
	var got []string
	for _, sp := range col.spans {
		if sp.Name == "lint" {
			got = append(got, runOf[hex.EncodeToString(sp.ParentSpanId)])
		}
	}
	if fmt.Sprint(got) != "[api/1.2.0/production#1]" {
		t.Errorf("lint was sent in the traces of %v, want [api/1.2.0/production#1]", got)
	}
}

// TestEndpointWithAPathIsABaseURL: OTEL_EXPORTER_OTLP_ENDPOINT is a base
// URL, and the traces go to its /v1/traces, below the path it may have
// (Grafana Cloud's OTLP gateway ends in /otlp). Its path was taken for the
// traces' URL: every export went to /otlp, and got 404. A URL that names
// /v1/traces itself keeps working.
func TestEndpointWithAPathIsABaseURL(t *testing.T) {
	for _, c := range []struct{ endpoint, prefix string }{
		{"/otlp", "/otlp"},
		{"/otlp/", "/otlp"},
		{"/otlp/v1/traces", "/otlp"},
		{"", ""},
		{"/v1/traces", ""},
	} {
		col := &collector{res: map[string]map[string]string{}}
		otlp := httptest.NewServer(http.StripPrefix(c.prefix, col))
		st := testdb.Open(t, testdb.SQLite(t))
		exp, err := New(Config{Endpoint: otlp.URL + c.endpoint, Store: st, Rules: model.DefaultDeploymentRules(), BatchDelay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp}))
		post(t, api.URL, "component=api&version=1&owner=ana&status=build")
		post(t, api.URL, "component=api&version=1&owner=ana&status=finished")
		if err := exp.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		api.Close()
		otlp.Close()
		col.mu.Lock()
		if len(col.spans) != 3 {
			t.Errorf("endpoint %q: the collector got %d spans, want 3", c.endpoint, len(col.spans))
		}
		col.mu.Unlock()
	}
}

// TestTracesEndpointIsUsedAsItIs: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the
// traces' own URL, posted to as it is (no /v1/traces added), and it wins
// over the base URL beside it, as the OpenTelemetry convention says. It was
// not read at all: set alone, nothing was exported, and without a word.
func TestTracesEndpointIsUsedAsItIs(t *testing.T) {
	col := &collector{res: map[string]map[string]string{}}
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/gateway/traces" {
			http.Error(w, "want /gateway/traces", http.StatusNotFound)
			return
		}
		r.URL.Path = "/v1/traces"
		col.ServeHTTP(w, r)
	}))
	defer otlp.Close()
	st := testdb.Open(t, testdb.SQLite(t))
	// The base URL names a port nothing listens on: were it used, no span
	// would arrive.
	exp, err := New(Config{Endpoint: "http://127.0.0.1:1", TracesEndpoint: otlp.URL + "/gateway/traces", Store: st,
		Rules: model.DefaultDeploymentRules(), BatchDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if exp.URL() != otlp.URL+"/gateway/traces" {
		t.Errorf("URL() = %q, want the traces endpoint as it is", exp.URL())
	}
	api := httptest.NewServer(server.New(server.Config{Store: st, Observer: exp}))
	defer api.Close()
	post(t, api.URL, "component=api&version=1&owner=ana&status=build")
	post(t, api.URL, "component=api&version=1&owner=ana&status=finished")
	if err := exp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.spans) != 3 {
		t.Errorf("the collector got %d spans at the traces endpoint, want 3", len(col.spans))
	}
	// The example it gives is a traces URL: the base URL's, followed,
	// posted every export to / (404).
	if _, err := New(Config{TracesEndpoint: "collector:4318/v1/traces", Store: st, Rules: model.DefaultDeploymentRules()}); err == nil {
		t.Error("a traces endpoint without a scheme was taken")
	} else if !strings.Contains(err.Error(), "such as http://collector:4318/v1/traces") {
		t.Errorf("traces endpoint without a scheme: %v; want an example traces URL, with its /v1/traces", err)
	}
}

// TestEndsAtOneTimeKeepTheFirst: a late step lands in the deployment of
// the first end after it, and of ends at one time, that is the first by
// id. Runs of one version that end at once (40 jobs ending in the same
// second) each took a place among the 16 ends remembered, pushing out the
// first, and late steps then sent a deployment of a later end alone: 216
// of 400 spans reached the collector.
func TestEndsAtOneTimeKeepTheFirst(t *testing.T) {
	e := &Exporter{}
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for id := int64(40); id >= 1; id-- {
		e.remember(model.Step{ID: 100 + id, Component: "api", Version: "1", Status: "finished", Time: t0.Add(time.Minute)})
	}
	for id := int64(1); id <= 40; id++ {
		e.remember(model.Step{ID: 200 + id, Component: "api", Version: "1", Status: "finished", Time: t0.Add(time.Minute)})
	}
	end, ok := e.endAfter(model.Step{ID: 300, Component: "api", Version: "1", Status: "build", Time: t0})
	if !ok || end.ID != 101 {
		t.Errorf("the end after a late step is %d (%v), want 101, the first by id at its time", end.ID, ok)
	}
}

// TestRememberedEndsStayWithinTheBound: a series that ends more often
// than maxEndsPerSeries keeps its latest ends in a slice no larger than
// the bound, holding only what reading a deployment back needs. Inserted
// before the earliest was cut, each full series grew to twice the bound,
// and with the owner and revision of each end 4096 series held 29 MiB
// (BenchmarkRememberedEnds), where one end each held 1.9 MiB.
func TestRememberedEndsStayWithinTheBound(t *testing.T) {
	e := &Exporter{}
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i := range 4 * maxEndsPerSeries {
		e.remember(model.Step{ID: int64(1 + i), Component: "api", Version: "1", Owner: "deployer", Status: "finished",
			Revision: "0123456789abcdef0123456789abcdef01234567", Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	// An end earlier than every one kept is forgotten at once.
	e.remember(model.Step{ID: 1000, Component: "api", Version: "1", Status: "finished", Time: t0.Add(-time.Hour)})
	ends := e.ended[seriesKey{"api", "1", ""}]
	if len(ends) != maxEndsPerSeries || cap(ends) > maxEndsPerSeries {
		t.Fatalf("a series holds %d ends in room for %d, want %d in at most %d", len(ends), cap(ends), maxEndsPerSeries, maxEndsPerSeries)
	}
	for i, end := range ends {
		if want := int64(3*maxEndsPerSeries + 1 + i); end.ID != want {
			t.Errorf("end %d is step %d, want %d: the latest, in time order", i, end.ID, want)
		}
		if end.Owner != "" || end.Revision != "" {
			t.Errorf("end %d keeps owner %q and revision %q, which reading its deployment back does not use", i, end.Owner, end.Revision)
		}
	}
	end, ok := e.endAfter(model.Step{ID: 2000, Component: "api", Version: "1", Status: "build", Time: t0.Add(50*time.Minute + time.Second)})
	if !ok || end.ID != 52 || !end.Time.Equal(t0.Add(51*time.Minute)) {
		t.Errorf("the end after a late step is %d at %s (%v), want 52 at %s", end.ID, end.Time, ok, t0.Add(51*time.Minute))
	}
}

// TestOtherProtocolIsWarnedOf: OTEL_EXPORTER_OTLP_PROTOCOL=grpc, with an
// endpoint on a collector's gRPC port, was ignored without a word; stepsd
// now says at start-up that it speaks http/protobuf only, and the traces'
// own variable wins over the base one as it does for the endpoint.
func TestOtherProtocolIsWarnedOf(t *testing.T) {
	for _, c := range []struct {
		base, traces string
		warned       string
	}{
		{"grpc", "", "OTEL_EXPORTER_OTLP_PROTOCOL is not spoken"},
		{"", "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL is not spoken"},
		{"grpc", "http/protobuf", ""},
		{"http/protobuf", "", ""},
		{"", "", ""},
	} {
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", c.base)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", c.traces)
		logs := new(testdb.LogBuffer)
		exp, err := New(Config{Endpoint: "http://127.0.0.1:4317", Store: testdb.Open(t, testdb.SQLite(t)),
			Rules: model.DefaultDeploymentRules(), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := exp.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := logs.String()
		if c.warned == "" && strings.Contains(got, "not spoken") {
			t.Errorf("protocol %q, traces protocol %q: warned %s", c.base, c.traces, got)
		}
		if c.warned != "" && (!strings.Contains(got, c.warned) || !strings.Contains(got, "4318")) {
			t.Errorf("protocol %q, traces protocol %q: log %q; want %q and the OTLP/HTTP port", c.base, c.traces, got, c.warned)
		}
	}
}
