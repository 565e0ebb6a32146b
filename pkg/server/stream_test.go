package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

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
	st := seed(t, testdb.SQLite(t), 8000)
	for _, tt := range []struct {
		after      int
		wantStatus int
		wantBroken bool
	}{{0, 503, false}, {7500, 200, true}} {
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
