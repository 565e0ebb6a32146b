package server_test

import (
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t), server.Token{Scope: server.ScopeWrite, Secret: "write-secret"})
	auth := []string{"Authorization", "Bearer write-secret"}
	ts.do(t, "POST", "/v1/steps?"+valid, nil, auth...)
	ts.do(t, "POST", "/v1/steps?"+valid, nil, append(auth, "Idempotency-Key", "k")...)
	ts.do(t, "POST", "/v1/steps?"+valid, nil, append(auth, "Idempotency-Key", "k")...)
	ts.do(t, "GET", "/v1/steps/1", nil, auth...)
	ts.do(t, "GET", "/v1/steps/2", nil, auth...)
	ts.do(t, "GET", "/no/such/path/12345", nil)
	ts.do(t, "GET", "/ui/no/such/page", nil)

	r := ts.do(t, "GET", "/metrics", nil) // open, even with tokens configured
	if r.status != 200 {
		t.Fatalf("/metrics = %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`steps_http_requests_total{method="POST",route="POST /v1/steps",status="201"} 2`,
		`steps_http_requests_total{method="POST",route="POST /v1/steps",status="200"} 1`,
		`steps_http_requests_total{method="GET",route="GET /v1/steps/{id}",status="200"} 2`,
		`steps_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`steps_recorded_total 2`,
		`steps_http_request_duration_seconds_bucket{method="GET",route="GET /v1/steps/{id}",le="+Inf"} 2`,
		`steps_build_info{goversion="go`,
		`go_sql_max_open_connections{db_name="steps"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "steps_unnumbered") {
		t.Error("/metrics still has steps_unnumbered: steps are numbered as they are written")
	}
	if strings.Contains(body, `route="/"`) || strings.Contains(body, `route="/ui/"`) {
		t.Error(`/metrics counts a path no route has under its catch-all pattern, not "unmatched" as docs/operations.md says`)
	}
	if strings.Contains(body, "/v1/steps/1") || strings.Contains(body, "12345") {
		t.Error("/metrics has a raw path as a label")
	}
}
