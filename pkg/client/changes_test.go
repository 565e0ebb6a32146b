package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// shiftedDeploys records n daily deployments of api whose build takes 10
// minutes, then 16 from deploy n/2 on.
func shiftedDeploys(t *testing.T, c *client.Client, n int) {
	t.Helper()
	var ins []model.StepInput
	for i := range n {
		start := t0.AddDate(0, 0, i-n)
		minutes := 10.0
		if i >= n/2 {
			minutes = 16
		}
		minutes *= 1 + 0.02*float64(i%3-1)
		build := input("api", fmt.Sprint(i), "build")
		build.Time = start
		done := input("api", fmt.Sprint(i), "finished")
		done.Time = start.Add(time.Duration(minutes * float64(time.Minute)))
		ins = append(ins, build, done)
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	shiftedDeploys(t, c, 60)

	cs, err := c.Changes(ctx, model.Filter{Component: "api"}, model.ChangesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Changes == nil {
		t.Errorf("Changes is nil, want an empty list at least")
	}
	st, err := c.Stats(ctx, model.Filter{}, model.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case st.Trend.Method == "":
		t.Errorf("stats carry no robust trend method (%d changes)", len(cs.Changes))
	case len(cs.Changes) == 0:
		t.Errorf("no change found in a build that jumps 60 %% halfway")
	default:
		ch := cs.Changes[0]
		if ch.Component != "api" || ch.ChangePercent < 20 || len(ch.Steps) == 0 || ch.Steps[0].Status != "build" {
			t.Errorf("change %+v, want api +60 %% in build", ch)
		}
	}

	t.Run("filters and options reach the server", func(t *testing.T) {
		_, err := c.Changes(ctx, model.Filter{Component: "api", Environment: "production", Since: t0.AddDate(0, 0, -30), Until: t0},
			model.ChangesOptions{Outcome: "all"})
		if err != nil {
			t.Fatal(err)
		}
		q := srv.sent("GET /v1/changes")
		got := q[len(q)-1].URL.Query()
		if got.Get("component") != "api" || got.Get("environment") != "production" || got.Get("outcome") != "all" ||
			got.Get("since") == "" || got.Get("until") == "" || got.Get("format") != "json" {
			t.Errorf("query %v", got)
		}
	})
	t.Run("WriteChanges passes the server's JSON and CSV", func(t *testing.T) {
		for _, format := range []string{client.FormatJSON, client.FormatCSV} {
			var buf bytes.Buffer
			if err := c.WriteChanges(ctx, &buf, model.Filter{Component: "api"}, model.ChangesOptions{}, format); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(srv.URL + "/v1/changes?component=api&format=" + format)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(buf.Bytes(), want) || len(want) == 0 {
				t.Errorf("%s:\n%s\nwant\n%s", format, buf.Bytes(), want)
			}
		}
	})
	t.Run("bad options are refused locally", func(t *testing.T) {
		before := len(srv.sent("GET /v1/changes"))
		for _, tc := range []struct {
			f     model.Filter
			opts  model.ChangesOptions
			field string
		}{
			{model.Filter{}, model.ChangesOptions{Outcome: "won"}, "outcome"},
			{model.Filter{Version: "1"}, model.ChangesOptions{}, "version"},
			{model.Filter{Owner: "ana"}, model.ChangesOptions{}, "owner"},
			{model.Filter{Status: "build"}, model.ChangesOptions{}, "status"},
			{model.Filter{Limit: 5}, model.ChangesOptions{}, "limit"},
		} {
			_, err := c.Changes(ctx, tc.f, tc.opts)
			var merr *model.Error
			if !errors.As(err, &merr) || merr.Field != tc.field {
				t.Errorf("%+v %+v: err %v, want invalid %s", tc.f, tc.opts, err, tc.field)
			}
		}
		if err := c.WriteChanges(ctx, io.Discard, model.Filter{}, model.ChangesOptions{}, "ndjson"); model.ErrorCode(err) != model.EINVALID {
			t.Errorf("format ndjson: %v", err)
		}
		if n := len(srv.sent("GET /v1/changes")); n != before {
			t.Errorf("%d requests sent for bad options", n-before)
		}
	})
}
