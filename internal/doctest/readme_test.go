package doctest

import (
	"bytes"
	"context"
	"encoding/json"
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

// doraHistory is the history whose real output the README's DORA
// paragraph, docs/stepsctl.md's `stepsctl dora` and docs/api.md's
// GET /v1/dora show: eight weeks of api deploys to production from Monday
// 2026-10-05, one or two a working day (1.6 on average), one in eight
// failing in tests and fixed by the next version one to six hours later, commit times
// (and revisions) recorded from 2026-10-19 on, and the last deploy, on
// Friday 2026-11-27, failed and not fixed yet.
func doraHistory() []model.StepInput { return doraHistorySeed(doraSeed) }

// doraSeed is a seed whose history reads as the docs' prose does: 12 % of
// the finished deployments fail, the week of 2026-11-16 has failures that
// were fixed, and the week of 2026-11-23 fails only on Friday.
const doraSeed = 55

func doraHistorySeed(seed uint64) []model.StepInput {
	rng := rand.New(rand.NewPCG(seed, seed))
	first := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	recordCommits := time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC)
	last := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	var ins []model.StepInput
	n := 0
	deploy := func(at time.Time, fail bool) time.Time {
		n++
		version := fmt.Sprintf("2.0.%d", n)
		var revision string
		var committed time.Time
		if !at.Before(recordCommits) {
			revision = fmt.Sprintf("%016x%016x%08x", rng.Uint64(), rng.Uint64(), rng.Uint32())
			// Lead times spread as they do: most commits go out within
			// hours, some wait a day or two.
			ago := time.Duration(math.Exp(math.Log(2)+rng.NormFloat64()*1.2) * float64(time.Hour))
			committed = at.Add(-max(ago, 10*time.Minute)).Truncate(time.Second)
		}
		add := func(status string) {
			ins = append(ins, model.StepInput{Component: "api", Version: version, Owner: "ana", Status: status,
				Environment: "production", Time: at, Revision: revision, CommittedAt: committed})
		}
		phases := []struct {
			status  string
			seconds float64
		}{{"build", 150}, {"tests", 300}, {"rollout", 120}}
		for _, p := range phases {
			add(p.status)
			at = at.Add(time.Duration(p.seconds * math.Exp(rng.NormFloat64()*0.1) * float64(time.Second)).Round(time.Second))
			if fail && p.status == "tests" {
				add("failed")
				return at
			}
		}
		add("finished")
		return at
	}
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		slots := []time.Duration{9 * time.Hour}
		if rng.Float64() < 0.6 {
			slots = append(slots, 14*time.Hour)
		}
		for i, slot := range slots {
			at := day.Add(slot + time.Duration(rng.IntN(90))*time.Minute)
			if day.Equal(last) && i == len(slots)-1 {
				deploy(at, true) // Friday's failure, not fixed yet
				break
			}
			if end := deploy(at, rng.Float64() < 0.12); ins[len(ins)-1].Status == "failed" {
				deploy(end.Add(time.Hour+time.Duration(rng.IntN(300))*time.Minute), false)
			}
		}
	}
	return ins
}

// example is a command whose output the docs show, run over a history.
type example struct {
	history func() []model.StepInput
	line    string // as the docs write it
}

// readmeExamples are the docs' examples over readmeHistory and
// doraHistory, in the order the README shows them.
var readmeExamples = []example{
	{readmeHistory, "curl -X POST 'localhost:8080/v1/steps?component=api&version=1.2.0&owner=ana'"},
	{readmeHistory, "curl 'localhost:8080/v1/deployments?component=api&order=desc&limit=4&format=csv'"},
	{readmeHistory, "curl 'localhost:8080/v1/stats?component=api&bucket=sprint&sprint_start=2026-06-01'"},
	{readmeHistory, "curl 'localhost:8080/v1/changes?component=api'"},
	{readmeHistory, "stepsctl stats --component api --by sprint --sprint-start 2026-06-01"},
	{readmeHistory, "stepsctl stats --component api --by sprint --sprint-start 2026-06-01 --since 2026-06-01"},
	{readmeHistory, "stepsctl changes --component api"},
	{readmeHistory, "stepsctl deployments --component api --order desc --limit 5 --steps"},
	{readmeHistory, "stepsctl deployments --component api --since 2026-11-17 --steps"},
	{readmeHistory, "stepsctl changes --component api --env production"},
	{readmeHistory, "stepsctl changes --component api --env production --since 2026-10-01"},
	{doraHistory, "stepsctl dora --component api --env production --since 2026-10-05 --until 2026-11-29"},
	{doraHistory, "curl 'localhost:8080/v1/dora?component=api&environment=production&since=2026-11-16&until=2026-11-29&bucket=week'"},
	{doraHistory, "curl 'localhost:8080/v1/dora?component=api&environment=production&since=2026-11-16&until=2026-11-29&bucket=week&format=csv'"},
}

// exampleServer serves history on a new SQLite file.
func exampleServer(t *testing.T, history []model.StepInput) (*httptest.Server, *client.Client) {
	t.Helper()
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordBatch(context.Background(), history); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return srv, c
}

// TestReadmeExampleHistory checks that the docs' example histories say
// what the prose reads in them (three outliers, left out of the buckets'
// figures and counted there, a growing trend blamed on tests, one shift on
// 2026-10-19 at 1.8.6; one failure not restored, on Friday 2026-11-27),
// then runs the examples over them and compares their output with the
// output the docs show after them, where the docs show it whole (not cut
// with "…"). stepsctl runs in a terminal, when script(1) can give it one.
// With -v it prints every output, for pasting into the docs when an
// output changes.
func TestReadmeExampleHistory(t *testing.T) {
	ctx := context.Background()
	servers := map[string]*httptest.Server{}
	srv, c := exampleServer(t, readmeHistory())
	servers[historyName(readmeHistory)] = srv

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

	srv, c = exampleServer(t, doraHistory())
	servers[historyName(doraHistory)] = srv
	since := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	dora, err := c.DORA(ctx, model.Filter{Component: "api", Environment: "production", Since: since, Until: since.AddDate(0, 0, 14).Add(-time.Microsecond)}, model.DORAOptions{Bucket: "week"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dora.Buckets) != 2 || dora.Buckets[0].UnrestoredFailures != 0 || dora.Buckets[0].TimeToRestoreP50Seconds == nil ||
		dora.Buckets[1].UnrestoredFailures != 1 || dora.Buckets[1].TimeToRestoreP50Seconds != nil {
		t.Errorf("dora %+v: docs/api.md reads a restored failure in the week of 2026-11-16, and the next week's failure, on Friday the 27th, not restored and no restore time", dora.Buckets)
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "stepsctl"), "./cmd/stepsctl")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build stepsctl: %v\n%s", err, out)
	}
	_, scriptErr := exec.LookPath("script")
	for _, ex := range readmeExamples {
		srv := servers[historyName(ex.history)]
		run := strings.ReplaceAll(ex.line, "localhost:8080", strings.TrimPrefix(srv.URL, "http://"))
		stepsctl := strings.HasPrefix(ex.line, "stepsctl ")
		if stepsctl && scriptErr == nil {
			run = "script -qec " + shellQuote(run) + " /dev/null"
		}
		if !stepsctl {
			run = "curl -sS " + strings.TrimPrefix(run, "curl ")
		}
		cmd := exec.Command("bash", "-c", run)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"STEPSCTL_SERVER="+srv.URL, "STEPSCTL_TOKEN=", "STEPSCTL_CONFIG=/dev/null", "NO_COLOR=1", "TZ=UTC",
			"XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", ex.line, err, out)
			continue
		}
		got := strings.TrimRight(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
		t.Logf("$ %s\n%s", ex.line, got)
		if stepsctl && scriptErr != nil {
			continue // piped, stepsctl prints plain rows, not the docs' tables
		}
		shown := shownOutputs(t, ex.line)
		if len(shown) == 0 {
			t.Errorf("%s: the docs show no output for it; take it out of readmeExamples, or show its output", ex.line)
		}
		for _, s := range shown {
			if strings.Contains(s.text, "…") {
				continue // cut short for the reader: not comparable
			}
			want, have := s.text, got
			if s.json {
				want, have = compactJSON(t, s.String(), want), compactJSON(t, ex.line, have)
			}
			if want != have {
				t.Errorf("%s: the docs show for %s\n%s\nbut it prints\n%s\n(paste it in, and check the prose around it still holds)", s, ex.line, s.text, got)
			}
		}
	}
}

// historyName tells the example histories apart, so each gets one server.
func historyName(h func() []model.StepInput) string {
	return fmt.Sprintf("%p", h)
}

// shown is an output the docs show after a command: in a transcript block,
// the lines after "$ COMMAND" up to the next "$ " line; or, after a sh
// block of the command alone, the json block that follows it.
type shown struct {
	block
	json bool
}

func shownOutputs(t *testing.T, line string) []shown {
	t.Helper()
	var out []shown
	all := blocks(t, "", "sh", "json")
	for i, b := range all {
		switch b.lang {
		case "", "sh":
			lines := strings.Split(strings.TrimRight(b.text, "\n"), "\n")
			for j, l := range lines {
				if l != "$ "+line {
					continue
				}
				k := j + 1
				for k < len(lines) && !strings.HasPrefix(lines[k], "$ ") {
					k++
				}
				text := strings.TrimRight(strings.Join(lines[j+1:k], "\n"), "\n")
				out = append(out, shown{block: block{file: b.file, line: b.line + j + 1, text: text}})
			}
		}
		if b.lang == "sh" {
			if strings.TrimSpace(b.text) == line && i+1 < len(all) && all[i+1].lang == "json" && all[i+1].file == b.file {
				next := all[i+1]
				out = append(out, shown{block: block{file: next.file, line: next.line, text: strings.TrimRight(next.text, "\n")}, json: true})
			}
		}
	}
	return out
}

// compactJSON is s without the line breaks and indents the docs add for
// the reader.
func compactJSON(t *testing.T, where, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Errorf("%s: not JSON: %v", where, err)
		return s
	}
	return buf.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
