package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// failingStore is a real store whose lists break after a number of rows
// (counted over the pages an export reads), as when the database goes away
// in the middle of an export.
type failingStore struct {
	*store.Store
	after int
	n     *int
}

func (f failingStore) ListSteps(ctx context.Context, flt model.Filter, fn func(model.Step) error) (*model.Cursor, error) {
	return f.Store.ListSteps(ctx, flt, func(s model.Step) error {
		if *f.n == f.after {
			return model.Errorf(model.EUNAVAILABLE, "the database is unavailable")
		}
		*f.n++
		return fn(s)
	})
}

// TestFailureMidStreamCutsTheResponse checks that a list that fails after
// part of it was sent ends in a broken transfer, never in a response that
// looks complete, and that one failing before anything was sent is a 503.
func TestFailureMidStreamCutsTheResponse(t *testing.T) {
	// Past the first page an export reads, so that part of it is sent.
	st := seed(t, testdb.SQLite(t), 10000)
	for _, tt := range []struct {
		after      int
		wantStatus int
		wantBroken bool
	}{{0, 503, false}, {9000, 200, true}} {
		srv := httptest.NewServer(server.New(server.Config{Store: failingStore{st, tt.after, new(int)}}))
		res, err := http.Get(srv.URL + "/v1/steps?format=ndjson")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if res.StatusCode != tt.wantStatus {
			t.Errorf("failing after %d rows: status %d, want %d", tt.after, res.StatusCode, tt.wantStatus)
		}
		if broken := err != nil && !errors.Is(err, io.EOF); broken != tt.wantBroken {
			t.Errorf("failing after %d rows: read error %v, want broken=%v", tt.after, err, tt.wantBroken)
		}
	}
}

// TestStreamedListsReadInPagesMissNothing checks that a list without limit,
// read from the database page after page, has every row once, in order, in
// both directions: steps (8,000 a page) and deployments (1,000 a page).
func TestStreamedListsReadInPagesMissNothing(t *testing.T) {
	const rows = 17000 // three pages of steps; 3,400 deployments, four pages
	st := seed(t, testdb.SQLite(t), rows)
	srv := httptest.NewServer(server.New(server.Config{Store: st}))
	defer srv.Close()
	get := func(path string) []byte {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, res.StatusCode, err)
		}
		return b
	}
	for _, order := range []string{"asc", "desc"} {
		ids := idsIn(t, "ndjson", get("/v1/steps?format=ndjson&order="+order))
		if len(ids) != rows {
			t.Fatalf("order=%s: %d steps, want %d", order, len(ids), rows)
		}
		for i := 1; i < len(ids); i++ {
			if (order == "asc") != (ids[i] > ids[i-1]) {
				t.Fatalf("order=%s: step %d after %d", order, ids[i], ids[i-1])
			}
		}
		dec := json.NewDecoder(bytes.NewReader(get("/v1/deployments?format=ndjson&order=" + order)))
		seen := map[string]bool{}
		var last time.Time
		for dec.More() {
			var d model.Deployment
			if err := dec.Decode(&d); err != nil {
				t.Fatal(err)
			}
			key := d.Component + " " + d.Version + " " + d.Environment + " " + strconv.Itoa(d.Attempt)
			if seen[key] {
				t.Fatalf("order=%s: deployment %s twice", order, key)
			}
			seen[key] = true
			if !last.IsZero() && (order == "asc") != !d.StartedAt.Before(last) {
				t.Fatalf("order=%s: deployment started %v after one started %v", order, d.StartedAt, last)
			}
			last = d.StartedAt
		}
		if len(seen) != rows/5 {
			t.Errorf("order=%s: %d deployments, want %d", order, len(seen), rows/5)
		}
	}
}
