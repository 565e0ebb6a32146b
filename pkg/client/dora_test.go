package client_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestDORA(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	// Two deployments of api: a failure, then its fix an hour later with a
	// commit made 30 minutes before the fix ended.
	start := t0.AddDate(0, 0, -3)
	commit := start.Add(90 * time.Minute)
	var ins []model.StepInput
	for _, s := range []struct {
		version, status string
		at              time.Duration
	}{{"1", "build", 0}, {"1", "failed", 10 * time.Minute}, {"2", "build", time.Hour}, {"2", "finished", 2 * time.Hour}} {
		in := input("api", s.version, s.status)
		in.Time = start.Add(s.at)
		if s.version == "2" {
			in.CommittedAt = commit
		}
		ins = append(ins, in)
	}
	if _, err := c.RecordBatch(ctx, ins); err != nil {
		t.Fatal(err)
	}

	d, err := c.DORA(ctx, model.Filter{Component: "api", Since: start.Add(-time.Hour), Until: t0}, model.DORAOptions{Bucket: model.BucketDay})
	if err != nil {
		t.Fatal(err)
	}
	all := d.Overall
	if all.Deployments != 2 || all.FailedDeployments != 1 || all.UnrestoredFailures != 0 ||
		all.TimeToRestoreP50Seconds == nil || *all.TimeToRestoreP50Seconds != 6600 || // 0:10 to 2:00
		all.LeadTimeP50Seconds == nil || *all.LeadTimeP50Seconds != 1800 ||
		all.ChangeFailureRatePercent == nil || *all.ChangeFailureRatePercent != 50 || all.Bands.ChangeFailureRate != model.BandLow {
		t.Errorf("overall %+v", all.DORAFigures)
	}
	// 1 failure in 2: the rate's 95 % interval (Wilson), 9.45–90.55 %.
	if lo, hi := all.ChangeFailureRateLowPercent, all.ChangeFailureRateHighPercent; lo == nil || hi == nil ||
		*lo < 9.45 || *lo > 9.46 || *hi < 90.54 || *hi > 90.55 {
		t.Errorf("change failure rate interval %v–%v, want 9.45–90.55", lo, hi)
	}
	q := srv.sent("GET /v1/dora")
	if got := q[len(q)-1].URL.Query(); got.Get("component") != "api" || got.Get("bucket") != "day" || got.Get("since") == "" || got.Get("until") == "" {
		t.Errorf("query %v", got)
	}

	t.Run("bad options are refused locally", func(t *testing.T) {
		before := len(srv.sent("GET /v1/dora"))
		for _, tc := range []struct {
			f     model.Filter
			opts  model.DORAOptions
			field string
		}{
			{model.Filter{}, model.DORAOptions{Bucket: "year"}, "bucket"},
			{model.Filter{Version: "1"}, model.DORAOptions{}, "version"},
			{model.Filter{Owner: "ana"}, model.DORAOptions{}, "owner"},
			{model.Filter{Limit: 5}, model.DORAOptions{}, "limit"},
			{model.Filter{}, model.DORAOptions{Since: t0}, "since"},
		} {
			_, err := c.DORA(ctx, tc.f, tc.opts)
			var merr *model.Error
			if !errors.As(err, &merr) || merr.Field != tc.field {
				t.Errorf("%+v %+v: err %v, want invalid %s", tc.f, tc.opts, err, tc.field)
			}
		}
		if err := c.WriteDORA(ctx, io.Discard, model.Filter{}, model.DORAOptions{}, "ndjson"); model.ErrorCode(err) != model.EINVALID {
			t.Errorf("format ndjson: %v", err)
		}
		if n := len(srv.sent("GET /v1/dora")); n != before {
			t.Errorf("%d requests sent for bad options", n-before)
		}
	})
}
