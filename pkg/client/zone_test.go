package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// A filter's bounds at a UTC day's edges go as dates, which a Sydney
// server reads as Sydney's days; the same instants in another Location go
// as instants. Monday 2026-04-06 08:00 in Sydney is Sunday 22:00 UTC.
func TestFilterDatesInServerZone(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, testdb.SQLite(t))
	now := func() time.Time { return time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC) }
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: now, Location: syd}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ins []model.StepInput
	for i, at := range []time.Time{
		time.Date(2026, 4, 5, 22, 0, 0, 0, time.UTC),  // Monday 2026-04-06 08:00 in Sydney
		time.Date(2026, 4, 26, 21, 0, 0, 0, time.UTC), // Monday 2026-04-27 07:00
	} {
		v := string(rune('1' + i))
		ins = append(ins, model.StepInput{Component: "api", Version: v, Owner: "o", Status: "build", Time: at},
			model.StepInput{Component: "api", Version: v, Owner: "o", Status: "finished", Time: at.Add(5 * time.Minute)})
	}
	if _, err := c.RecordBatch(ctx, ins); err != nil {
		t.Fatal(err)
	}
	since, _, err := model.ParseTime("2026-04-06")
	if err != nil {
		t.Fatal(err)
	}
	until, err := model.ParseUntil("until", "2026-04-26")
	if err != nil {
		t.Fatal(err)
	}
	utc := time.FixedZone("UTC", 0)
	for _, tt := range []struct {
		name string
		f    model.Filter
		want []string
	}{
		{"dates", model.Filter{Since: since, Until: until}, []string{"1"}},
		{"instants", model.Filter{Since: since.In(utc), Until: until.In(utc)}, []string{"2"}},
	} {
		var got []string
		for d, err := range c.Deployments(ctx, model.DeploymentFilter{Filter: tt.f}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d.Version)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s: deployments %v; want %v", tt.name, got, tt.want)
		}
		steps, err := c.List(ctx, tt.f)
		if err != nil || len(steps) != 2*len(tt.want) {
			t.Errorf("%s: %d steps, %v; want %d", tt.name, len(steps), err, 2*len(tt.want))
		}
		d, err := c.DORA(ctx, model.Filter{Component: "api", Since: tt.f.Since, Until: tt.f.Until}, model.DORAOptions{})
		if err != nil || d.Overall.Deployments != len(tt.want) {
			t.Errorf("%s: DORA counts %d deployments, %v; want %d", tt.name, d.Overall.Deployments, err, len(tt.want))
		}
	}
}

// TestLocalZoneIsRefusedByName: a Location named "Local" (time.Local on
// a machine without TZ) means nothing to the server, which would answer
// a 400 about a "tz" parameter the caller never set: the client refuses
// it first and says what to pass instead; a zone loaded by name is sent.
func TestLocalZoneIsRefusedByName(t *testing.T) {
	t.Parallel()
	srv := startStepsd(t)
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	locals := []*time.Location{time.FixedZone("Local", 3600)}
	if time.Local.String() == "Local" {
		locals = append(locals, time.Local)
	}
	for _, loc := range locals {
		_, err := c.Stats(ctx, model.Filter{}, model.StatsOptions{Location: loc})
		var merr *model.Error
		var apiErr *client.APIError
		if !errors.As(err, &merr) || errors.As(err, &apiErr) || merr.Field != "tz" || !strings.Contains(err.Error(), "time.LoadLocation") {
			t.Errorf("Stats with Location %v: %v; want a *model.Error naming tz and time.LoadLocation, before sending", loc, err)
		}
		_, err = c.DORA(ctx, model.Filter{}, model.DORAOptions{Location: loc})
		if !errors.As(err, &merr) || errors.As(err, &apiErr) || merr.Field != "tz" {
			t.Errorf("DORA with Location %v: %v; want a *model.Error naming tz, before sending", loc, err)
		}
	}
	if n := len(srv.sent("GET /v1/stats")) + len(srv.sent("GET /v1/dora")); n != 0 {
		t.Errorf("sent %d requests, want none", n)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stats(ctx, model.Filter{}, model.StatsOptions{Location: paris}); err != nil {
		t.Errorf("Stats in Europe/Paris: %v", err)
	}
}

// Stats, changes and the four keys are no pages: a filter that sets order,
// limit or a cursor is refused before sending, by the field it set (an
// Order was refused as "limit", a field the caller never touched).
func TestAnalysesRefusePagingByTheFieldSet(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		f     model.Filter
		field string
	}{
		{model.Filter{Order: model.OrderDesc}, "order"},
		{model.Filter{Limit: 10}, "limit"},
		{model.Filter{After: &model.Cursor{}}, "cursor"},
	} {
		calls := map[string]func() error{
			"Stats":   func() error { _, err := c.Stats(ctx, tt.f, model.StatsOptions{}); return err },
			"Changes": func() error { _, err := c.Changes(ctx, tt.f, model.ChangesOptions{}); return err },
			"DORA":    func() error { _, err := c.DORA(ctx, tt.f, model.DORAOptions{}); return err },
		}
		for name, call := range calls {
			var me *model.Error
			if err := call(); !errors.As(err, &me) || me.Field != tt.field {
				t.Errorf("%s with %+v: %v; want a refusal naming %s", name, tt.f, err, tt.field)
			}
		}
	}
}
