package command_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// shiftedHistory stores 60 daily deploys of api to production whose tests
// step goes from 5 to 8 minutes at deploy 30 (version 1.30.0).
func shiftedHistory(t *testing.T, h *harness) {
	t.Helper()
	var ins []model.StepInput
	start := t0.AddDate(0, 0, -70)
	for i := range 60 {
		at := start.AddDate(0, 0, i)
		tests := 300.0
		if i >= 30 {
			tests = 480
		}
		wobble := 1 + 0.02*float64(i%3-1)
		version := fmt.Sprintf("1.%d.0", i)
		for _, p := range []struct {
			status  string
			seconds float64
		}{{"build", 120 * wobble}, {"tests", tests * wobble}, {"finished", 0}} {
			ins = append(ins, model.StepInput{Component: "api", Version: version, Owner: "ana", Status: p.status, Environment: "production", Time: at})
			at = at.Add(time.Duration(p.seconds * float64(time.Second)))
		}
	}
	h.recordAll(ins)
}

func TestChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	shiftedHistory(t, h)
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(context.Background(), model.Filter{}, model.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("one line per change", func(t *testing.T) {
		r := h.mustRun(true, "changes", "--component", "api", "--env", "production")
		if st.Trend.Method == "" {
			t.Fatalf("stats carry no robust trend method; stdout %q", r.stdout)
		}
		line := regexp.MustCompile(`^\d{4}-\d\d-\d\d  api 1\.(2[7-9]|3[0-3])\.0 → production  \+\d+ % \(\dm\d\ds → \d+m\d\ds\)  tests \+\d+m\d\ds \(\d+ %\)`)
		out := lines(r.stdout)
		if len(out) != 1 || !line.MatchString(out[0]) {
			t.Errorf("changes:\n%s\nwant one line matching %s", r.stdout, line)
		}
	})
	for _, format := range []string{"json", "csv"} {
		t.Run("-o "+format+" is the server's", func(t *testing.T) {
			r := h.mustRun(false, "changes", "--component", "api", "--outcome", "all", "-o", format)
			want := h.serverSays(t, "/v1/changes?component=api&outcome=all&format="+format)
			if r.stdout != want || want == "" {
				t.Errorf("stepsctl:\n%s\nserver:\n%s", r.stdout, want)
			}
		})
	}
	t.Run("nothing found", func(t *testing.T) {
		r := h.mustRun(false, "changes", "--component", "none")
		if r.stdout != "No shift in deploy time found in this range.\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"changes", "--outcome", "won"}, "--outcome must be success, failure or all"},
			{[]string{"changes", "--since", "yesterday-ish"}, "since"},
			{[]string{"changes", "--version", "1"}, "unknown flag: --version"},
			{[]string{"changes", "-o", "ndjson"}, `invalid output format "ndjson": use one of table, json, csv`},
			{[]string{"changes", "extra"}, "extra"},
		} {
			r := h.run(false, tc.args...)
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, first, tc.want)
			}
		}
	})
	t.Run("help has examples", func(t *testing.T) {
		r := h.mustRun(false, "changes", "--help")
		for _, want := range []string{"stepsctl changes --component api --env production", "+38 % (9m02s → 12m28s)", "-o csv"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("help lacks %q", want)
			}
		}
	})
}

func TestChangesFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.ChangesOptions
	}{
		{
			cli:  "",
			want: command.ChangesOptions{Changes: model.ChangesOptions{Outcome: "success"}, Output: "table"},
		},
		{
			cli: "--component api --env prod --since 90d --until 2026-03-01 --outcome all -o csv",
			want: command.ChangesOptions{Filter: model.Filter{Component: "api", Environment: "prod"},
				Changes: model.ChangesOptions{Outcome: "all"}, Since: "90d", Until: "2026-03-01", Output: "csv"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdChanges, tc.cli, func(o *command.ChangesOptions) { o.Factory = nil }, tc.want)
		})
	}
}
