package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestRevisionAndCommittedAt: revision and committed_at are taken by every
// way in (query string, form, JSON, batch as JSON, NDJSON and CSV), shown
// in the JSON and CSV lists of steps and deployments after the columns
// that were there before, and an export with or without them imports;
// bad values are a 400 naming the field.
func TestRevisionAndCommittedAt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		committed := "2026-03-01T18:30:00.25+01:00"
		committedUTC := time.Date(2026, 3, 1, 17, 30, 0, 250000000, time.UTC)
		check := func(how string, st model.Step, rev string) {
			t.Helper()
			if st.Revision != rev || st.CommittedAt == nil || !st.CommittedAt.Equal(committedUTC) {
				t.Errorf("%s: stored %q %v, want %q %v", how, st.Revision, st.CommittedAt, rev, committedUTC)
			}
		}
		base := url.Values{"component": {"api"}, "version": {"1"}, "owner": {"ana"}, "status": {"build"}, "environment": {"prod"}}
		with := func(rev string) url.Values {
			v := url.Values{}
			for k, vs := range base {
				v[k] = vs
			}
			v.Set("revision", rev)
			v.Set("committed_at", committed)
			return v
		}

		check("query string", ts.mustPost(t, with("q1").Encode()), "q1")
		r := ts.do(t, "POST", "/v1/steps", strings.NewReader(with("f1").Encode()), "Content-Type", "application/x-www-form-urlencoded")
		check("form", r.step(t), "f1")
		r = ts.do(t, "POST", "/v1/steps", strings.NewReader(`{"component":"api","version":"1","owner":"ana","status":"tests","environment":"prod",
			"revision":" j1 ","committed_at":"`+committed+`"}`), "Content-Type", "application/json")
		check("JSON", r.step(t), "j1")
		if !strings.Contains(string(r.body), `"revision":"j1","committed_at":"2026-03-01T17:30:00.25Z"}`) {
			t.Errorf("the answer does not show them last: %s", r.body)
		}
		// Neither given: neither shown.
		plain := ts.post(t, "component=web&version=2&owner=ana&status=build")
		if strings.Contains(string(plain.body), "revision") || strings.Contains(string(plain.body), "committed_at") {
			t.Errorf("a step without them shows %s", plain.body)
		}

		batch := func(contentType, body string) []model.Step {
			t.Helper()
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", contentType)
			var out struct{ Steps []model.Step }
			if r.status != 201 || json.Unmarshal(r.body, &out) != nil {
				t.Fatalf("batch %s = %d %s", contentType, r.status, r.body)
			}
			return out.Steps
		}
		check("batch JSON", batch("application/json", `[{"component":"api","version":"1","owner":"ana","status":"rollout","environment":"prod","revision":"b1","committed_at":"`+committed+`"}]`)[0], "b1")
		check("batch NDJSON", batch("application/x-ndjson", `{"component":"api","version":"1","owner":"ana","status":"rollout","environment":"prod","revision":"n1","committed_at":"`+committed+`"}`)[0], "n1")
		check("batch CSV", batch("text/csv", "component,version,owner,status,environment,revision,committed_at\napi,1,ana,rollout,prod,c1,2026-03-01 17:30:00.250000\n")[0], "c1")

		// The CSV export: the original columns first, these last; it imports
		// back as it is, and so does one from before these columns.
		export := ts.do(t, "GET", "/v1/steps?format=csv&component=api", nil)
		rows, err := csv.NewReader(bytes.NewReader(export.body)).ReadAll()
		if err != nil || len(rows) != 7 {
			t.Fatalf("export %q: %v", export.body, err)
		}
		if strings.Join(rows[0], ",") != "component,version,owner,status,ts,environment,id,received_at,revision,committed_at" {
			t.Errorf("export header %v", rows[0])
		}
		if got := rows[1][8:]; got[0] != "q1" || got[1] != "2026-03-01 17:30:00.250000" {
			t.Errorf("export row ends %q", got)
		}
		before := ts.count(t)
		again := batch("text/csv", string(export.body))
		if len(again) != 6 {
			t.Fatalf("import of the export: %d steps", len(again))
		}
		check("import of an export", again[0], "q1")
		var old strings.Builder
		cw := csv.NewWriter(&old)
		for _, row := range rows {
			cw.Write(row[:8]) //nolint:errcheck // checked at Flush
		}
		cw.Flush()
		if fromOld := batch("text/csv", old.String()); len(fromOld) != 6 || fromOld[0].Revision != "" || fromOld[0].CommittedAt != nil {
			t.Errorf("import of an export without them: %+v", fromOld)
		}
		if got := ts.count(t); got != before+12 {
			t.Errorf("%d steps after two imports of 6, want %d", got, before+12)
		}

		// Deployments show the latest given, in JSON and last in CSV.
		deps := ts.deployments(t, "component=api")
		if len(deps) == 0 || deps[0].Revision == "" || deps[0].CommittedAt == nil {
			t.Fatalf("deployments %+v", deps)
		}
		dcsv := ts.do(t, "GET", "/v1/deployments?format=csv&component=api&limit=1", nil)
		drows, err := csv.NewReader(bytes.NewReader(dcsv.body)).ReadAll()
		if err != nil || len(drows) != 2 {
			t.Fatalf("deployments CSV %q: %v", dcsv.body, err)
		}
		// Right after steps (the ETA's columns follow).
		if n := 11; drows[0][n-1] != "steps" || drows[0][n] != "revision" || drows[0][n+1] != "committed_at" ||
			drows[1][n] != deps[0].Revision || drows[1][n+1] != "2026-03-01 17:30:00.250000" {
			t.Errorf("deployments CSV %q", drows)
		}

		// Bad values: a 400 naming the field, nothing stored.
		before = ts.count(t)
		for _, c := range []struct{ name, query, field string }{
			{"revision too long", valid + "&revision=" + strings.Repeat("a", model.MaxRevisionLen+1), "revision"},
			{"revision with a control character", valid + "&revision=a%01b", "revision"},
			{"committed_at not a time", valid + "&committed_at=yesterday", "committed_at"},
			{"committed_at in the future", valid + "&committed_at=2026-03-02T10:00:00Z", "committed_at"},
			{"committed_at given twice", valid + "&committed_at=2026-03-01&committed_at=2026-03-02", "committed_at"},
		} {
			refused(t, ts, c.name, before, ts.post(t, c.query), 400, c.field)
		}
		r = ts.do(t, "POST", "/v1/steps", strings.NewReader(`{"component":"api","version":"1","owner":"ana","status":"x","revision":7}`), "Content-Type", "application/json")
		refused(t, ts, "revision a number", before, r, 400, "revision")
		r = ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status,committed_at\napi,1,ana,build,soon\n"), "Content-Type", "text/csv")
		if r.status != 400 || !strings.Contains(string(r.body), "committed_at") {
			t.Errorf("batch with a bad committed_at = %d %s", r.status, r.body)
		}
	})
}
