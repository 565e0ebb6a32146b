package doctest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// readmeHistory is the history whose real output the README's
// retrospective section ("How long does a deploy take…") and
// docs/stepsctl.md's changes show: 88 deploys of api to production every
// other day from 2026-06-01 09:00, versions 1.0.0 to 1.10.7, eight minutes
// at the start growing 1.2 % a week, tests 16 points of the deploy slower
// from 1.8.6 (2026-10-19) on, 6 % lognormal noise, and the three 1.4-second
// test deploys of the quick-start (0.0.1 to 0.0.3, 2026-11-27 15:00).
func readmeHistory() []model.StepInput {
	rng := rand.New(rand.NewPCG(1, 1))
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		status string
		share  float64
	}{{"build", 0.3}, {"tests", 0.45}, {"migrate", 0.05}, {"rollout", 0.2}}
	var ins []model.StepInput
	add := func(version string, at time.Time, status string) {
		ins = append(ins, model.StepInput{Component: "api", Version: version, Owner: "ana", Status: status, Environment: "production", Time: at})
	}
	for i := range 88 {
		at := start.AddDate(0, 0, 2*i)
		version := fmt.Sprintf("1.%d.%d", i/8, i%8)
		weeks := at.Sub(start).Hours() / (7 * 24)
		for _, st := range steps {
			seconds := 480 * st.share * math.Pow(1.012, weeks)
			if st.status == "tests" && i >= 70 {
				seconds *= 1 + 0.16/st.share
			}
			seconds *= math.Exp(rng.NormFloat64() * 0.06)
			add(version, at, st.status)
			at = at.Add(time.Duration(seconds * float64(time.Second)).Round(time.Microsecond))
		}
		add(version, at, "finished")
	}
	for i := range 3 {
		at := time.Date(2026, 11, 27, 15, i, 0, 0, time.UTC)
		version := fmt.Sprintf("0.0.%d", i+1)
		add(version, at, "build")
		add(version, at.Add(1400*time.Millisecond), "finished")
	}
	return ins
}

// readmeCommands are the README's examples over readmeHistory, in the
// order it shows them.
var readmeCommands = []string{
	"curl -sS 'localhost:8080/v1/deployments?component=api&order=desc&limit=4&format=csv'",
	"curl -sS 'localhost:8080/v1/stats?component=api&bucket=sprint&sprint_start=2026-06-01'",
	"curl -sS 'localhost:8080/v1/changes?component=api'",
	"stepsctl stats --component api --by sprint --sprint-start 2026-06-01",
	"stepsctl changes --component api",
	"stepsctl deployments --component api --order desc --limit 5 --steps",
	"stepsctl changes --component api --env production --since 2026-10-01",
}

// TestReadmeExampleHistory checks that the README's example history says
// what the README's prose reads in it: three outliers, left out of the
// buckets' figures and counted there, a growing trend blamed on tests, and
// one shift on 2026-10-19 at 1.8.6. Run with -v, it prints the output of
// the README's commands over that history (stepsctl's in a terminal, when
// script(1) can give it one), for pasting into README.md when the output
// changes.
func TestReadmeExampleHistory(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.RecordBatch(ctx, readmeHistory()); err != nil {
		t.Fatalf("seed: %v", err)
	}

	sprint, err := time.Parse(time.DateOnly, "2026-06-01")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.Stats(ctx, model.Filter{Component: "api"}, model.StatsOptions{Bucket: "sprint", SprintStart: sprint})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Deployments != 91 || stats.Trend.Outliers != 3 || stats.Trend.Direction != "growing" || len(stats.Trend.Blame) == 0 || stats.Trend.Blame[0] != "tests" {
		t.Errorf("stats: %d deployments, %d outliers, %s, blame %v; the README reads 91, 3, growing, blame tests",
			stats.Deployments, stats.Trend.Outliers, stats.Trend.Direction, stats.Trend.Blame)
	}
	if n := len(stats.Buckets); n == 0 || stats.Buckets[n-1].Outliers != 3 || stats.Buckets[n-1].Count != 4 {
		t.Errorf("last sprint %+v: want its 4 real deploys counted and the 3 test deploys as outliers", stats.Buckets[len(stats.Buckets)-1])
	}
	changes, err := c.Changes(ctx, model.Filter{Component: "api"}, model.ChangesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes.Changes) != 1 || changes.Changes[0].Version != "1.8.6" || len(changes.Changes[0].Steps) == 0 || changes.Changes[0].Steps[0].Status != "tests" {
		t.Errorf("changes %+v: the README reads one shift, at 1.8.6, mostly tests", changes.Changes)
	}

	if !testing.Verbose() {
		return
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "stepsctl"), "./cmd/stepsctl")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build stepsctl: %v\n%s", err, out)
	}
	_, scriptErr := exec.LookPath("script")
	for _, line := range readmeCommands {
		run := strings.ReplaceAll(line, "localhost:8080", strings.TrimPrefix(srv.URL, "http://"))
		if strings.HasPrefix(line, "stepsctl ") && scriptErr == nil {
			run = "script -qec " + shellQuote(run) + " /dev/null"
		}
		cmd := exec.Command("bash", "-c", run)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"STEPSCTL_SERVER="+srv.URL, "STEPSCTL_TOKEN=", "STEPSCTL_CONFIG=/dev/null", "NO_COLOR=1", "TZ=UTC",
			"XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
		t.Logf("$ %s\n%s", line, strings.ReplaceAll(string(out), "\r\n", "\n"))
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
