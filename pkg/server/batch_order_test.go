package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestBatchNewestFirst: steps of one deployment at the same instant are
// numbered in the order stored, so an export listed newest first
// (order=desc) sent to POST /v1/steps/batch swapped them: a redeploy whose
// build and finished came 10 minutes after a rollout and a finished of one
// instant read rollout=3300;build=600;finished, 3,900 s, where the source
// has 600 s. Such a batch is refused naming the row, as stepsctl import
// refuses the file, in CSV, NDJSON and JSON; oldest first (the default
// order) it gives back the same deployments.
func TestBatchNewestFirst(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		src := newTestServer(t, fresh(t))
		body := `{"component":"api","version":"1","owner":"o","status":"build","time":"2024-11-01T10:00:00Z"}
{"component":"api","version":"1","owner":"o","status":"rollout","time":"2024-11-01T10:05:00Z"}
{"component":"api","version":"1","owner":"o","status":"finished","time":"2024-11-01T10:05:00Z"}
{"component":"api","version":"1","owner":"o","status":"build","time":"2024-11-01T11:00:00Z"}
{"component":"api","version":"1","owner":"o","status":"finished","time":"2024-11-01T11:10:00Z"}
`
		if r := src.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/x-ndjson"); r.status != http.StatusCreated {
			t.Fatalf("source batch: %d %s", r.status, r.body)
		}
		want := src.do(t, "GET", "/v1/deployments?format=csv", nil).body

		for _, tt := range []struct{ format, contentType, list string }{
			{"csv", "text/csv", "/v1/steps?format=csv"},
			{"ndjson", "application/x-ndjson", "/v1/steps?format=ndjson"},
		} {
			t.Run(tt.format, func(t *testing.T) {
				ts := newTestServer(t, fresh(t))
				desc := src.do(t, "GET", tt.list+"&order=desc", nil).body
				r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(desc), "Content-Type", tt.contentType)
				if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"row":4,"field":"id"`) ||
					!strings.Contains(string(r.body), "came before it (id 3, then 2)") {
					t.Errorf("newest first: %d %s; want 400 naming row 4's id, which came before row 3's", r.status, r.body)
				}
				if n := ts.count(t); n != 0 {
					t.Fatalf("newest first: %d steps stored, want none; their deployments\n%s\nwhere the source has\n%s",
						n, ts.do(t, "GET", "/v1/deployments?format=csv", nil).body, want)
				}
				asc := src.do(t, "GET", tt.list, nil).body
				if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(asc), "Content-Type", tt.contentType); r.status != http.StatusCreated {
					t.Fatalf("oldest first: %d %s", r.status, r.body)
				}
				if got := ts.do(t, "GET", "/v1/deployments?format=csv", nil).body; !bytes.Equal(got, want) {
					t.Errorf("deployments after the batch\n%s\nwant\n%s", got, want)
				}
			})
		}
	})
}

// TestBatchJSONUnderAClientsDefaultTypeSaysSo: a batch sent by fetch with a
// string body (text/plain) or by curl -d (a form's type) got the bare
// "Content-Type … is not supported", where the single-step endpoint names
// the client's default and the header to send.
func TestBatchJSONUnderAClientsDefaultTypeSaysSo(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	array := `[{"component":"api","version":"1","owner":"ana","status":"build"}]`
	tests := []struct {
		name, contentType, body, want string
	}{
		{"fetch", "text/plain;charset=UTF-8", array, `the body is JSON but its Content-Type is "text/plain;charset=UTF-8" (fetch's default for a string body); send the header Content-Type: application/json`},
		{"curl -d", "application/x-www-form-urlencoded", "\n " + array, "the body is JSON but its Content-Type is application/x-www-form-urlencoded (curl -d's and Python urllib's default); send the header Content-Type: application/json"},
		{"CSV as text", "text/plain", "component,version,owner,status\napi,1,ana,build\n", `Content-Type "text/plain" is not supported; send application/json (an array), application/x-ndjson or text/csv`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(tt.body), "Content-Type", tt.contentType)
			var e struct{ Error string }
			if err := json.Unmarshal(r.body, &e); err != nil || r.status != http.StatusUnsupportedMediaType || e.Error != tt.want {
				t.Errorf("got %d %s\nwant 415 %q", r.status, r.body, tt.want)
			}
		})
	}
	if got, _ := ts.listJSON(t, ""); len(got) != 0 {
		t.Errorf("refused batches stored %d steps", len(got))
	}
}
