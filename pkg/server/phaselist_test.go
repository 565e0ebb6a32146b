package server_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestDeploymentCSVStepsCellSplitsBack: a deployment's steps cell in CSV,
// "status=seconds;…", splits back into the statuses the JSON gives even
// when a status holds ";", "=" or a backslash, each written after a
// backslash; a status without them is written as it is.
func TestDeploymentCSVStepsCellSplitsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		body := `[
 {"component":"api","version":"1","owner":"ana","status":"build","time":"2026-03-02T08:00:00Z"},
 {"component":"api","version":"1","owner":"ana","status":"migrate;eu=1","time":"2026-03-02T08:01:00Z"},
 {"component":"api","version":"1","owner":"ana","status":"roll\\out","time":"2026-03-02T08:03:00Z"},
 {"component":"api","version":"1","owner":"ana","status":"finished","time":"2026-03-02T08:04:00Z"}]`
		if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		r := ts.do(t, "GET", "/v1/deployments?format=csv", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /v1/deployments?format=csv: %d %s", r.status, r.body)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("CSV %q: %d rows, %v; want a header and one deployment", r.body, len(rows), err)
		}
		cell := rows[1][slices.Index(rows[0], "steps")]
		if want := `build=60;migrate\;eu\=1=120;roll\\out=60;finished`; cell != want {
			t.Errorf("steps cell %q, want %q", cell, want)
		}
		var got []string
		for _, item := range splitUnescaped(cell, ';') {
			name := item
			if i := lastUnescaped(item, '='); i >= 0 {
				name = item[:i]
			}
			got = append(got, unescape(name))
		}
		if want := []string{"build", "migrate;eu=1", `roll\out`, "finished"}; !slices.Equal(got, want) {
			t.Errorf("statuses read back from %q: %q, want %q", cell, got, want)
		}
	})
}

// splitUnescaped splits s at each sep without a backslash before it.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// lastUnescaped is the index of the last c in s without a backslash
// before it, or -1.
func lastUnescaped(s string, c byte) int {
	at := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case c:
			at = i
		}
	}
	return at
}

// unescape drops the backslash before each escaped character.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
