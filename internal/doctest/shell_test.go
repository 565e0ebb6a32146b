package doctest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// command is one runnable shell example: a curl against localhost:8080 or
// a stepsctl call for the default server, with what the docs say it gives.
type command struct {
	where block
	line  string
	// status is the HTTP status a curl should get: the one the docs show
	// after it ("# 400 {…}"), a 4xx when they show an error body, else 0
	// for any 2xx.
	status int
}

// uncommented is line without a trailing comment ("cmd   # why"), whose
// apostrophes do not open a quote.
func uncommented(line string) string {
	if i := strings.Index(line, "  #"); i >= 0 {
		return line[:i]
	}
	return line
}

// clip keeps a failure message readable when a command printed a lot.
func clip(out []byte) string {
	if len(out) > 2000 {
		return string(out[:1000]) + "\n…\n" + string(out[len(out)-1000:])
	}
	return string(out)
}

var shownStatus = regexp.MustCompile(`^# (\d{3}) `)

// assignment is a shell line that sets a variable for the lines after it.
var assignment = regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`)

// commands returns the examples that can run on this machine. Others (a
// deploy script calling make and kubectl, another host, docker) are left to
// the reader.
func commands(t *testing.T) []command {
	t.Helper()
	var out []command
	for _, b := range blocks(t, "sh", "") {
		lines := strings.Split(b.text, "\n")
		// Variables a block sets (F=…, SIG=$(…)) are set again before each
		// of its commands, which run in shells of their own.
		var assignments []string
		for i := 0; i < len(lines); i++ {
			line := strings.TrimPrefix(lines[i], "$ ")
			// A command goes on over lines ending in \ and over a quoted
			// newline (a JSON body).
			for i+1 < len(lines) && (strings.HasSuffix(line, `\`) || strings.Count(uncommented(line), "'")%2 == 1) {
				i++
				line += "\n" + lines[i]
			}
			// The plain blocks are transcripts: only their "$ " lines run.
			if b.lang == "" && !strings.HasPrefix(lines[i-strings.Count(line, "\n")], "$ ") {
				continue
			}
			if assignment.MatchString(line) {
				assignments = append(assignments, line)
				continue
			}
			c := command{where: b, line: line}
			c.where.line += i - strings.Count(line, "\n")
			switch {
			case strings.HasPrefix(line, "curl ") && strings.Contains(line, "localhost:8080"):
			case strings.HasPrefix(line, "stepsctl ") && !strings.Contains(line, "--server"):
			default:
				continue
			}
			if i+1 < len(lines) {
				next := lines[i+1]
				if m := shownStatus.FindStringSubmatch(next); m != nil {
					c.status, _ = strconv.Atoi(m[1])
				} else if strings.HasPrefix(next, `{"error"`) {
					c.status = 400
				}
			}
			if len(assignments) > 0 {
				c.line = strings.Join(assignments, "\n") + "\n" + c.line
			}
			out = append(out, c)
		}
	}
	return out
}

// TestDocsShellExamples runs the curl and stepsctl examples of README.md
// and docs/*.md, in the order written, against a real stepsd on a temp
// SQLite file that holds half a year of an "api" component's deploys.
func TestDocsShellExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	cmds := commands(t)
	if len(cmds) < 20 {
		t.Fatalf("found %d shell examples: the test is not looking where the docs are", len(cmds))
	}
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st, RateLimit: -1,
		// The secrets docs/integrations.md starts stepsd with.
		GitHubSecret: "s3cret-hook", GitLabToken: "gl-hook-token",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}))
	t.Cleanup(srv.Close)
	seed(t, srv.URL)

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "stepsctl"), "./cmd/stepsctl")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build stepsctl: %v\n%s", err, out)
	}
	work := t.TempDir()
	// The fixtures the webhook examples send, at the paths the docs give
	// from the repository's root.
	if err := os.Symlink(filepath.Join(repoRoot(t), "pkg"), filepath.Join(work, "pkg")); err != nil {
		t.Fatal(err)
	}
	// The files the examples read, as another tool would have left them.
	mustWrite(t, filepath.Join(work, "history.csv"), "component,version,owner,status,ts\nlegacy,1.0,ana,build,2026-11-02 09:00:00\nlegacy,1.0,ana,finished,2026-11-02 09:05:00\n")
	mustWrite(t, filepath.Join(work, "old-service-export.csv"), "component,version,owner,status,ts\nlegacy,1.1,ana,build,2026-11-03 09:00:00\nlegacy,1.1,ana,finished,2026-11-03 09:04:00\n")

	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STEPSCTL_SERVER="+srv.URL, "STEPSCTL_TOKEN=", "STEPSCTL_CONFIG=/dev/null",
		"XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir(), "HOME="+t.TempDir(),
		"NEXT=", "VERSION=1.2.0")
	for _, c := range cmds {
		line := strings.ReplaceAll(c.line, "localhost:8080", u.Host)
		setup, line := cutAssignments(line)
		curl := strings.HasPrefix(line, "curl ")
		if curl {
			// -w puts the status on stdout even with -o FILE.
			line = "curl -sS -w '\\nHTTP %{http_code}\\n' " + strings.TrimPrefix(line, "curl ")
		}
		line = setup + line
		cmd := exec.Command("bash", "-o", "pipefail", "-c", line)
		cmd.Dir = work
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %s\n%v\n%s", c.where, c.line, err, clip(out))
			continue
		}
		if !curl {
			continue
		}
		m := regexp.MustCompile(`HTTP (\d{3})\n$`).FindSubmatch(out)
		if m == nil {
			t.Errorf("%s: %s\nno status in %q", c.where, c.line, clip(out))
			continue
		}
		got, _ := strconv.Atoi(string(m[1]))
		if (c.status == 0 && (got < 200 || got > 299)) || (c.status != 0 && got != c.status) {
			want := "2xx"
			if c.status != 0 {
				want = strconv.Itoa(c.status)
			}
			t.Errorf("%s: %s\ngot HTTP %d, the docs show %s:\n%s", c.where, c.line, got, want, clip(out))
		}
	}
	t.Logf("%d shell examples run", len(cmds))
}

// seed stores what the examples talk about: half a year of an "api"
// component's deploys to production, whose tests step grows and jumps, and
// one deploy from a machine whose clock read 1970 (the docs show its run of
// empty days given as one gap bucket).
func seed(t *testing.T, base string) {
	t.Helper()
	ds, _ := synth.Generate(synth.Config{
		Seed: 1, Start: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), Weeks: 25, PerSeries: 90, Noise: 0.1,
		Series: []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 480, Steps: []synth.Step{
			{Status: "build", Share: 0.3, GrowthPercentPerWeek: 0.5},
			{Status: "tests", Share: 0.45, GrowthPercentPerWeek: 2},
			{Status: "migrate", Share: 0.05},
			{Status: "rollout", Share: 0.2},
		}}},
		Jumps: []synth.Jump{{Series: 0, Step: "tests", At: 50, Percent: 60}},
	})
	skewed := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	ins := []model.StepInput{
		{Component: "clock-skew", Version: "1", Owner: "ana", Status: "build", Time: skewed},
		{Component: "clock-skew", Version: "1", Owner: "ana", Status: "finished", Time: skewed.Add(time.Minute)},
	}
	for _, d := range ds {
		for _, p := range d.Steps {
			ins = append(ins, model.StepInput{Component: d.Component, Version: d.Version, Owner: "ana", Status: p.Status, Environment: d.Environment, Time: p.Time})
		}
	}
	c, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		t.Fatalf("seed %d steps: %v", len(ins), err)
	}
}

// cutAssignments splits the variable assignments that commands() put
// before a command from the command itself.
func cutAssignments(line string) (setup, command string) {
	lines := strings.Split(line, "\n")
	n := 0
	for n < len(lines)-1 && assignment.MatchString(lines[n]) {
		n++
	}
	if n == 0 {
		return "", line
	}
	return strings.Join(lines[:n], "\n") + "\n", strings.Join(lines[n:], "\n")
}
