package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestRFC3339WithSpaceIsADatetime: a time written as RFC 3339 allows with
// a space for its "T" ("2026-03-02 10:30:00+01:00", as Python's str() of
// an aware datetime and PostgreSQL write it) is taken as the step's time,
// a batch row's time and a list's bounds, where it was a 400.
func TestRFC3339WithSpaceIsADatetime(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		at := time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

		s := ts.mustPost(t, valid+"&time="+url.QueryEscape("2026-03-02 09:30:00+01:00"))
		if !s.Time.Equal(at) {
			t.Errorf("stored time %v, want %v", s.Time, at)
		}
		r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status,ts\napi,1.2.0,ana,finished,2026-03-02 08:31:00Z\n"),
			"Content-Type", "text/csv")
		if r.status != http.StatusCreated {
			t.Fatalf("batch with ts 2026-03-02 08:31:00Z: %d %s, want 201", r.status, r.body)
		}
		for _, q := range []string{
			"since=" + url.QueryEscape("2026-03-02 08:30:00+00:00") + "&until=" + url.QueryEscape("2026-03-02 03:31:00-05:00"),
			"start_datetime=" + url.QueryEscape("2026-03-02 08:30:00z") + "&end_datetime=" + url.QueryEscape("2026-03-02t08:31:00z"),
		} {
			steps, _ := ts.listJSON(t, q)
			if len(steps) != 2 {
				t.Errorf("GET ?%s: %d steps, want 2", q, len(steps))
			}
		}
	})
}
