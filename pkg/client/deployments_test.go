package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// deploys stores n finished deployments of api, one a day before t0, the
// i-th taking i+1 minutes: build, then finished.
func deploys(t *testing.T, c *client.Client, n int) {
	t.Helper()
	var ins []model.StepInput
	for i := range n {
		start := t0.AddDate(0, 0, i-n)
		build := input("api", fmt.Sprint(i), "build")
		build.Time = start
		done := input("api", fmt.Sprint(i), "finished")
		done.Time = start.Add(time.Duration(i+1) * time.Minute)
		ins = append(ins, build, done)
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL, client.WithPageSize(10))
	ctx := context.Background()
	deploys(t, c, 25)
	pages := func() int { return len(srv.sent("GET /v1/deployments")) }

	t.Run("ListDeployments fetches every page", func(t *testing.T) {
		before := pages()
		ds, err := c.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 25 {
			t.Fatalf("got %d deployments, want 25", len(ds))
		}
		for i, d := range ds {
			if d.Version != fmt.Sprint(i) || d.DurationSeconds != float64(60*(i+1)) || d.Outcome != model.OutcomeSuccess {
				t.Fatalf("deployment %d: %+v", i, d)
			}
		}
		if got := pages() - before; got != 3 {
			t.Errorf("fetched %d pages, want 3", got)
		}
	})
	t.Run("Limit caps the total", func(t *testing.T) {
		before := pages()
		ds, err := c.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 15, Order: model.OrderDesc}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 15 || ds[0].Version != "24" || ds[14].Version != "10" {
			t.Errorf("got %d deployments from %s, want 15 from 24", len(ds), ds[0].Version)
		}
		if got := pages() - before; got != 2 {
			t.Errorf("fetched %d pages, want 2 (10 + 5)", got)
		}
	})
	t.Run("Deployments fetches lazily", func(t *testing.T) {
		before := pages()
		for _, err := range c.Deployments(ctx, model.DeploymentFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if got := pages() - before; got != 1 {
			t.Errorf("fetched %d pages for one deployment, want 1", got)
		}
	})
	t.Run("DeploymentsPage returns a cursor", func(t *testing.T) {
		p, err := c.DeploymentsPage(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 20}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Deployments) != 20 || p.Next == nil || p.Next.Version != "19" {
			t.Fatalf("page of %d, next %+v; want 20 and a cursor after version 19", len(p.Deployments), p.Next)
		}
		p2, err := c.DeploymentsPage(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 20}, After: p.Next})
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Deployments) != 5 || p2.Next != nil || p2.Deployments[0].Version != "20" {
			t.Errorf("second page of %d, next %v; want 5 from version 20 and no cursor", len(p2.Deployments), p2.Next)
		}
	})
	t.Run("filters reach the server", func(t *testing.T) {
		ds, err := c.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{
			Component: "api", Version: "3", Owner: "ana", Status: "finished", Environment: "production",
			Since: t0.AddDate(0, 0, -25), Until: t0}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].Version != "3" {
			t.Errorf("got %+v", ds)
		}
	})
	t.Run("a bad filter is refused locally", func(t *testing.T) {
		before := pages()
		_, err := c.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Order: "sideways"}})
		if model.ErrorCode(err) != model.EINVALID || pages() != before {
			t.Errorf("err = %v, want invalid before any request", err)
		}
	})
}

func TestStats(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	deploys(t, c, 21)

	st, err := c.Stats(ctx, model.Filter{Component: "api"}, model.StatsOptions{Bucket: model.BucketWeek})
	if err != nil {
		t.Fatal(err)
	}
	if st.Deployments != 21 || st.Bucket != "week" || len(st.Buckets) < 3 || st.Trend.SlopeSecondsPerWeek <= 0 || !strings.HasPrefix(st.Summary, "Deploy time grows") {
		t.Errorf("stats %+v", st)
	}
	if len(st.Steps) != 1 || st.Steps[0].Status != "build" || st.Steps[0].SharePercent != 100 {
		t.Errorf("steps %+v", st.Steps)
	}
	// The series the trend blends: here one, whose trend is the trend.
	if len(st.Series) != 1 || st.Series[0].Component != "api" || st.Series[0].Deployments != 21 ||
		st.Series[0].Trend != st.Trend.RobustTrend || st.SeriesNotListed != 0 {
		t.Errorf("series %+v (%d not listed); want api's 21 deployments with the trend %+v", st.Series, st.SeriesNotListed, st.Trend.RobustTrend)
	}

	t.Run("options reach the server", func(t *testing.T) {
		st, err := c.Stats(ctx, model.Filter{Since: t0.AddDate(0, 0, -14)}, model.StatsOptions{
			Bucket: model.BucketSprint, SprintDays: 7, SprintStart: t0, Outcome: "all"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Deployments != 14 || st.SprintDays != 7 || st.Outcome != "all" || !st.Buckets[0].Start.Equal(t0.AddDate(0, 0, -14)) {
			t.Errorf("stats %+v", st)
		}
		q := srv.sent("GET /v1/stats")
		got := q[len(q)-1].URL.Query()
		if got.Get("bucket") != "sprint" || got.Get("sprint_days") != "7" || got.Get("outcome") != "all" || got.Get("sprint_start") == "" {
			t.Errorf("query %v", got)
		}
	})
	t.Run("WriteStats passes the server's JSON and CSV", func(t *testing.T) {
		for _, format := range []string{client.FormatJSON, client.FormatCSV} {
			var buf bytes.Buffer
			if err := c.WriteStats(ctx, &buf, model.Filter{Component: "api"}, model.StatsOptions{}, format); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(srv.URL + "/v1/stats?component=api&format=" + format)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s:\n%s\nwant\n%s", format, buf.Bytes(), want)
			}
		}
		var got model.Stats
		var buf bytes.Buffer
		_ = c.WriteStats(ctx, &buf, model.Filter{}, model.StatsOptions{}, client.FormatJSON)
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil || got.Deployments != 21 {
			t.Errorf("JSON %v: %+v", err, got)
		}
	})
	t.Run("bad options are refused locally", func(t *testing.T) {
		before := len(srv.sent("GET /v1/stats"))
		for _, tc := range []struct {
			f     model.Filter
			opts  model.StatsOptions
			field string
		}{
			{model.Filter{}, model.StatsOptions{Bucket: "year"}, "bucket"},
			{model.Filter{}, model.StatsOptions{SprintDays: 400}, "sprint_days"},
			{model.Filter{}, model.StatsOptions{Outcome: "won"}, "outcome"},
			{model.Filter{Status: "build"}, model.StatsOptions{}, "status"},
			{model.Filter{Limit: 5}, model.StatsOptions{}, "limit"},
		} {
			_, err := c.Stats(ctx, tc.f, tc.opts)
			var merr *model.Error
			if !errors.As(err, &merr) || merr.Field != tc.field {
				t.Errorf("%+v %+v: err %v, want invalid %s", tc.f, tc.opts, err, tc.field)
			}
		}
		if err := c.WriteStats(ctx, io.Discard, model.Filter{}, model.StatsOptions{}, "ndjson"); model.ErrorCode(err) != model.EINVALID {
			t.Errorf("format ndjson: %v", err)
		}
		if n := len(srv.sent("GET /v1/stats")); n != before {
			t.Errorf("%d requests sent for bad options", n-before)
		}
	})
}

// TestSendBatch: a batch sent again under its key stores nothing and says
// it was replayed.
func TestSendBatch(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	ins := []model.StepInput{input("api", "1", "build"), input("api", "1", "finished")}
	ins[0].Time, ins[1].Time = t0.Add(-time.Hour), t0.Add(-time.Minute)

	first, err := c.SendBatch(ctx, "import-1-2-abc", ins)
	if err != nil || first.Replayed || len(first.Steps) != 2 {
		t.Fatalf("first: %+v, %v", first, err)
	}
	again, err := c.SendBatch(ctx, "import-1-2-abc", ins)
	if err != nil || !again.Replayed || !slices.Equal(statuses(again.Steps), []string{"build", "finished"}) || again.Steps[0].ID != first.Steps[0].ID {
		t.Errorf("again: %+v, %v", again, err)
	}
	if n := srv.count(t); n != 2 {
		t.Errorf("stored %d steps, want 2", n)
	}
	ins[1].Status = "failed"
	_, err = c.SendBatch(ctx, "import-1-2-abc", ins)
	if model.ErrorCode(err) != model.EUNPROCESSABLE {
		t.Errorf("another batch under the key: %v, want unprocessable", err)
	}
}

// A DeploymentFilter embeds a Filter, whose After is a step cursor: set
// there (a loop over steps' pages reused for deployments), it used to be
// dropped without a word, and every call returned the first page again.
func TestDeploymentsRefuseStepCursor(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL, client.WithPageSize(2))
	ctx := context.Background()
	deploys(t, c, 5)
	page, err := c.ListPage(ctx, model.Filter{Component: "api", Limit: 2})
	if err != nil || page.Next == nil {
		t.Fatalf("steps page: next %v, err %v", page.Next, err)
	}
	f := model.DeploymentFilter{Filter: model.Filter{Component: "api", Limit: 2, After: page.Next}}

	t.Run("DeploymentsPage", func(t *testing.T) {
		before := len(srv.sent("GET /v1/deployments"))
		_, err := c.DeploymentsPage(ctx, f)
		var merr *model.Error
		if !errors.As(err, &merr) || merr.Code != model.EINVALID || merr.Field != "cursor" {
			t.Fatalf("got %v, want an invalid error naming cursor", err)
		}
		if got := len(srv.sent("GET /v1/deployments")) - before; got != 0 {
			t.Errorf("sent %d requests, want none", got)
		}
	})
	t.Run("Deployments", func(t *testing.T) {
		n := 0
		for _, err := range c.Deployments(ctx, f) {
			if model.ErrorCode(err) != model.EINVALID {
				t.Fatalf("got %v, want an invalid error", err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("got %d results, want the error alone", n)
		}
	})
}
