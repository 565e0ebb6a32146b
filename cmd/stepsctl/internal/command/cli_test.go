package command_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, args := range [][]string{{}, {"record"}, {"list"}, {"flush"}, {"deployments"}, {"stats"}, {"run"}, {"import"}, {"version"}, {"completion"}, {"changes"}, {"dora"}, {"watch"}} {
		name := strings.Join(append([]string{"stepsctl"}, args...), " ")
		t.Run(name, func(t *testing.T) {
			r := h.mustRun(false, append(args, "--help")...)
			if !strings.Contains(r.stdout, "Examples:\n  ") {
				t.Errorf("%s --help has no examples:\n%s", name, r.stdout)
			}
		})
	}
	r := h.mustRun(false, "--help")
	for _, want := range []string{"Exit codes:", "0  success", "1  failure", "2  usage error", "STEPSCTL_SERVER", "config.yaml"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stepsctl --help lacks %q", want)
		}
	}
	if r := h.mustRun(false); !strings.Contains(r.stdout, "Exit codes:") {
		t.Errorf("stepsctl without a command does not print the help")
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	badYAML, unknownKey := filepath.Join(dir, "bad.yaml"), filepath.Join(dir, "unknown.yaml")
	for path, text := range map[string]string{badYAML: "server: [\n", unknownKey: "sever: http://localhost:8080\n"} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string // the first line of stderr contains it
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"list", "--component", "none"}, 0, ""},
		{[]string{"recrod"}, 2, `unknown command "recrod"; did you mean "record"?`},
		{[]string{"export"}, 2, `unknown command "export"; did you mean "list"?`},
		{[]string{"blame"}, 2, `unknown command "blame"; did you mean "stats"?`},
		{[]string{"eta"}, 2, `unknown command "eta"; did you mean "watch"?`},
		{[]string{"list", "--bogus"}, 2, "unknown flag: --bogus"},
		// A mistyped flag, or the API's name for one, gets the flag meant.
		{[]string{"record", "--componnet", "api"}, 2, "stepsctl: unknown flag: --componnet; did you mean --component?"},
		{[]string{"record", "--component", "api", "--environment", "production"}, 2, "stepsctl: unknown flag: --environment; did you mean --env?"},
		{[]string{"list", "--format=csv"}, 2, "stepsctl: unknown flag: --format; did you mean --output?"},
		// An argument to a command without subcommands is a value given
		// without its flag, or unquoted: say so, not "unknown command".
		{[]string{"list", "extra"}, 2, `stepsctl: list takes no arguments, got "extra": give each value after its flag (such as --component NAME), and quote a value that holds spaces`},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "tests", "passed"}, 2, `stepsctl: record takes no arguments, got "passed": give each value after its flag`},
		{[]string{"flush", "now"}, 2, `stepsctl: flush takes no arguments, got "now"`},
		{[]string{"import"}, 2, "stepsctl: import needs the file to import: stepsctl import FILE"},
		{[]string{"import", "a.csv", "b.csv"}, 2, `stepsctl: import takes one file, got 2 ("a.csv" "b.csv")`},
		{[]string{"completion"}, 2, "stepsctl: completion needs the shell to complete for: bash, zsh, fish or powershell"},
		{[]string{"record", "--component", "api", "--version", "1"}, 2, "--status is required"},
		{[]string{"record", "--component", "api"}, 2, "stepsctl: --version and --status are required"},
		{[]string{"record"}, 2, "stepsctl: --component, --version and --status are required"},
		{[]string{"run", "--", "true"}, 2, "stepsctl: --component, --version and --step are required"},
		{[]string{"record", "--component", strings.Repeat("x", 129), "--version", "1", "--status", "s"}, 2, "--component: component is 129 characters long"},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--env", " "}, 2, "--env: environment must not be blank"},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--time", "yesterday"}, 2, "stepsctl: --time: \"yesterday\" is neither a datetime nor a span"},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--committed-at", "noon"}, 2, "stepsctl: --committed-at: \"noon\" is neither a datetime nor a span"},
		{[]string{"list", "--since", "last week"}, 2, "stepsctl: --since: \"last week\" is neither a datetime nor a span"},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--time", "1764756000"}, 2, `stepsctl: --time: "1764756000" is neither a datetime nor a span: it looks like unix time, which is not taken; send it as a datetime, "2025-12-03T10:00:00Z"`},
		// A span longer than the longest is said to be so, not to be no span.
		{[]string{"list", "--since", "40000d"}, 2, `stepsctl: --since: "40000d" reaches back further than the longest span, 100 years (36500d); give a date instead`},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--time", "99999999999999999999h"}, 2, `stepsctl: --time: "99999999999999999999h" reaches back further than the longest span`},
		{[]string{"dora", "--until", "noon"}, 2, "stepsctl: --until: \"noon\" is neither a datetime nor a span"},
		// A filter's date goes to the server as a date, a day of its zone
		// (the help says so); a step's --time date is midnight UTC.
		{[]string{"list", "--since", "last week"}, 2, `"YYYY-MM-DD" (a day in the server's time zone, UTC unless set)`},
		{[]string{"stats", "--until", "noon"}, 2, `"YYYY-MM-DD" (a day in the server's time zone, UTC unless set)`},
		{[]string{"record", "--component", "api", "--version", "1", "--status", "s", "--time", "yesterday"}, 2, `"YYYY-MM-DD" (UTC)`},
		{[]string{"list", "--since", "1h", "--until", "2h"}, 2, "until"},
		{[]string{"list", "-o", "yaml"}, 2, `invalid output format "yaml"`},
		{[]string{"list", "--order", "up"}, 2, "order must be"},
		// A filter the model refuses is named by the flag typed, as
		// record names its own, not by the API's parameter.
		{[]string{"list", "--env", strings.Repeat("e", 65)}, 2, "stepsctl: --env: environment is 65 characters long"},
		{[]string{"deployments", "--order", "up"}, 2, `stepsctl: --order: order must be "asc" or "desc"`},
		{[]string{"stats", "--component", "a\x01"}, 2, "stepsctl: --component: component must not contain control characters"},
		{[]string{"watch", "--once", "--owner", strings.Repeat("o", 129)}, 2, "stepsctl: --owner: owner is 129 characters long"},
		{[]string{"dora", "--since", "1h", "--until", "2h"}, 2, "stepsctl: --until: until ("},
		{[]string{"list", "--limit", "-1"}, 2, "--limit"},
		{[]string{"list", "--limit", "0"}, 2, "stepsctl: --limit must be at least 1; omit it to list every step"},
		{[]string{"deployments", "--limit", "0"}, 2, "stepsctl: --limit must be at least 1; omit it to list every deployment"},
		{[]string{"list", "--timeout", "0s"}, 2, "timeout"},
		{[]string{"list", "--server", "localhost:8080"}, 2, "must look like http://host:port"},
		{[]string{"list", "--config", "/nonexistent/stepsctl.yaml"}, 2, "does not exist"},
		{[]string{"list", "--config", badYAML}, 2, "config file " + badYAML},
		{[]string{"list", "--config", unknownKey}, 2, "config file " + unknownKey},
		{[]string{"help", "lst"}, 2, `stepsctl: unknown help topic "lst"; did you mean "list"?`},
		{[]string{"help", "record", "extra"}, 2, `stepsctl: unknown help topic "record extra"`},
		{[]string{"help", "ls"}, 0, ""},
		{[]string{"completion", "tcsh"}, 2, `stepsctl: completion knows no shell "tcsh"; use bash, zsh, fish or powershell`},
		{[]string{"list", "--server", "http://127.0.0.1:1"}, 1, "stepsctl: cannot reach http://127.0.0.1:1/v1/steps"},
		{[]string{"list", "--server", "http://127.0.0.1:1"}, 1, "; is stepsd running there? Give its URL with --server or STEPSCTL_SERVER"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := h.run(false, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.Contains(first, tc.stderr) {
				t.Errorf("first line of stderr %q, want it to contain %q", first, tc.stderr)
			}
			if tc.code == 2 {
				// One line for the error, one that says where the usage
				// is; not the whole usage.
				cmd := "stepsctl " + tc.args[0]
				if len(tc.args) == 1 && strings.HasPrefix(tc.stderr, "unknown command") || tc.args[0] == "help" {
					cmd = "stepsctl"
				}
				want := "Run '" + cmd + " --help' for usage."
				if got := lines(r.stderr); len(got) != 2 || got[1] != want {
					t.Errorf("a usage error printed %q, want one line and then %q", r.stderr, want)
				}
			}
			if tc.code == 1 && len(lines(r.stderr)) != 1 {
				t.Errorf("a failure printed %d lines on stderr, want 1: %q", len(lines(r.stderr)), r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") {
				t.Errorf("stack trace on stderr: %q", r.stderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&command.UsageError{Err: errors.New("bad flag")}, 2},
		{context.Canceled, 1},
	} {
		if got := command.ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// newFactory returns a factory with captured streams, for commands built
// directly in tests of flag parsing.
func newFactory(t *testing.T) *command.Factory {
	return &command.Factory{
		IO:     &output.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return t0 },
		Viper:  viper.New(),
	}
}

func TestRecordFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.RecordOptions
	}{
		{
			cli:  "--component api --version 1.2.0 --status build",
			want: command.RecordOptions{Input: model.StepInput{Component: "api", Version: "1.2.0", Status: "build"}, Output: "table"},
		},
		{
			cli: "--component api --version 1.2.0 --status build --owner bo --env production --time 2026-03-01 -q --no-spool -o json",
			want: command.RecordOptions{Input: model.StepInput{Component: "api", Version: "1.2.0", Status: "build", Owner: "bo", Environment: "production"},
				Time: "2026-03-01", Quiet: true, NoSpool: true, Output: "json"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdRecord, tc.cli, func(o *command.RecordOptions) { o.Factory = nil }, tc.want)
		})
	}
}

func TestListFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.ListOptions
	}{
		{
			cli:  "",
			want: command.ListOptions{Filter: model.Filter{Order: "asc"}, Output: "table"},
		},
		{
			cli: "--since 7d --until 2026-03-01 --component api --version 1 --owner ana --status build --env prod --limit 5 --order desc -o csv",
			want: command.ListOptions{Filter: model.Filter{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "prod", Limit: 5, Order: "desc"},
				Since: "7d", Until: "2026-03-01", Output: "csv"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdList, tc.cli, func(o *command.ListOptions) { o.Factory = nil }, tc.want)
		})
	}
}

// TestConfigPrecedence: flag > env (STEPSCTL_*) > config file > default.
// Not parallel: it sets environment variables.
func TestConfigPrecedence(t *testing.T) {
	h := newHarness(t)
	cfgDir := filepath.Join(h.env["XDG_CONFIG_HOME"], "stepsctl")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// flush with an empty spool reads the configuration and sends nothing.
	config := func(args ...string) command.Config {
		t.Helper()
		var out, errOut bytes.Buffer
		f := &command.Factory{
			IO:     &output.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			Getenv: func(k string) string { return h.env[k] },
			Now:    h.cli.Now,
			Viper:  viper.New(),
		}
		if code := command.Main(context.Background(), f, append(args, "flush")); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		return f.Config
	}

	got := config()
	if got.Server != "http://localhost:8080" || got.Timeout != 30*time.Second || got.Token != "" || got.File != "" {
		t.Errorf("defaults: %+v", got)
	}

	defaultFile := filepath.Join(cfgDir, "config.yaml")
	write(defaultFile, "# stepsctl\nserver: http://from-file:8080\ntoken: file-token\ntimeout: 5s\n")
	got = config()
	if got.Server != "http://from-file:8080" || got.Token != "file-token" || got.Timeout != 5*time.Second || got.File != defaultFile {
		t.Errorf("config file: %+v", got)
	}

	t.Setenv("STEPSCTL_SERVER", "http://from-env:8080")
	t.Setenv("STEPSCTL_TIMEOUT", "7s")
	got = config()
	if got.Server != "http://from-env:8080" || got.Timeout != 7*time.Second || got.Token != "file-token" {
		t.Errorf("env over file: %+v", got)
	}

	got = config("--server", "http://from-flag:8080", "--timeout", "9s")
	if got.Server != "http://from-flag:8080" || got.Timeout != 9*time.Second {
		t.Errorf("flag over env: %+v", got)
	}
	// Seconds alone, as the env and the file take them.
	if got = config("--timeout", "9"); got.Timeout != 9*time.Second {
		t.Errorf("--timeout 9: %+v", got)
	}

	other := filepath.Join(t.TempDir(), "other.yaml")
	write(other, "token: other-token\nspool-dir: /var/spool/stepsctl\ntimeout: 12\n")
	t.Setenv("STEPSCTL_TIMEOUT", "")
	got = config("--config", other)
	if got.Token != "other-token" || got.SpoolDir != "/var/spool/stepsctl" || got.Timeout != 12*time.Second || got.File != other {
		t.Errorf("--config: %+v", got)
	}

	write(other, "server: http://x\nsevrer: typo\n")
	var errOut bytes.Buffer
	f := &command.Factory{IO: &output.Streams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Getenv: func(k string) string { return h.env[k] }, Now: h.cli.Now, Viper: viper.New()}
	if code := command.Main(context.Background(), f, []string{"--config", other, "flush"}); code != 2 || !strings.Contains(errOut.String(), `unknown key "sevrer"`) {
		t.Errorf("typo in config: exit %d, stderr %q", code, errOut.String())
	}

	// A list or mapping where a key takes one value is a usage error
	// naming the key; "token: [x]" was read as no token at all.
	for _, text := range []string{"token: [file-token]\n", "spool-dir: [/tmp/x]\n", "timeout: {seconds: 5}\n", "timezone: [UTC]\n", "sprint:\n  start: [2026-01-05]\n"} {
		write(other, text)
		errOut.Reset()
		f := &command.Factory{IO: &output.Streams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Getenv: func(k string) string { return h.env[k] }, Now: h.cli.Now, Viper: viper.New()}
		key, _, _ := strings.Cut(text, ":")
		if key == "sprint" {
			key = "sprint.start"
		}
		if code := command.Main(context.Background(), f, []string{"--config", other, "flush"}); code != 2 || !strings.Contains(errOut.String(), key+" is a list or a mapping; it takes one value") {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming %s", text, code, errOut.String(), key)
		}
	}

	// A section given a value, where its settings belong under it, is a
	// usage error: "sprint: 3" was read as no sprint calendar at all.
	for _, text := range []string{"sprint: 3\n", "sprint: [2026-01-05]\n"} {
		write(other, text)
		errOut.Reset()
		f := &command.Factory{IO: &output.Streams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Getenv: func(k string) string { return h.env[k] }, Now: h.cli.Now, Viper: viper.New()}
		if code := command.Main(context.Background(), f, []string{"--config", other, "flush"}); code != 2 || !strings.Contains(errOut.String(), `key "sprint" has a value, but it is a section`) {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming the section sprint", text, code, errOut.String())
		}
	}

	// A timeout that is neither a duration nor a number of seconds is a
	// usage error, not the number it starts with: "1h30" is not 1 second.
	for _, bad := range []string{"1h30", "5O", "10 minutes", "NaN", "Inf"} {
		t.Setenv("STEPSCTL_TIMEOUT", bad)
		errOut.Reset()
		f := &command.Factory{IO: &output.Streams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Getenv: func(k string) string { return h.env[k] }, Now: h.cli.Now, Viper: viper.New()}
		if code := command.Main(context.Background(), f, []string{"flush"}); code != 2 || !strings.Contains(errOut.String(), "STEPSCTL_TIMEOUT: ") {
			t.Errorf("STEPSCTL_TIMEOUT=%s: exit %d (timeout %v), stderr %q; want 2", bad, code, f.Config.Timeout, errOut.String())
		}
	}
}

// A bad timeout names where it came from, as a bad sprint calendar does:
// a user who typed no --timeout has a variable exported in a CI file, or a
// config file, to look in, and "timeout "0s"" named neither.
func TestBadTimeoutNamesItsSource(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("timeout: 5 minutes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"-1s", []string{"list"}, `stepsctl: STEPSCTL_TIMEOUT: "-1s" is not a positive duration`},
		{"", []string{"--config", file, "list"}, `stepsctl: config file ` + file + `: timeout: "5 minutes" is not a positive duration`},
		{"", []string{"list", "--timeout", "0"}, `stepsctl: --timeout: "0s" is not a positive duration`},
		// The flag wins over the variable, and is the one named.
		{"10s", []string{"list", "--timeout", "0"}, `stepsctl: --timeout: "0s" is not a positive duration`},
	} {
		t.Setenv("STEPSCTL_TIMEOUT", tc.env)
		r := h.run(false, tc.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tc.want) {
			t.Errorf("STEPSCTL_TIMEOUT=%q stepsctl %v: exit %d, stderr %q; want 2 and %q", tc.env, tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestDirectories(t *testing.T) {
	for _, tc := range []struct {
		env             map[string]string
		spool, config   string
		configuredSpool string
	}{
		{env: map[string]string{"HOME": "/home/ana"}, spool: "/home/ana/.local/state/stepsctl", config: "/home/ana/.config/stepsctl/config.yaml"},
		{env: map[string]string{"HOME": "/home/ana", "XDG_STATE_HOME": "/x/state", "XDG_CONFIG_HOME": "/x/config"}, spool: "/x/state/stepsctl", config: "/x/config/stepsctl/config.yaml"},
		{env: map[string]string{"HOME": "/home/ana"}, configuredSpool: "/srv/spool", spool: "/srv/spool", config: "/home/ana/.config/stepsctl/config.yaml"},
	} {
		f := &command.Factory{Getenv: func(k string) string { return tc.env[k] }}
		f.Config.SpoolDir = tc.configuredSpool
		if got := f.SpoolDir(); got != filepath.FromSlash(tc.spool) {
			t.Errorf("%v: SpoolDir = %q, want %q", tc.env, got, tc.spool)
		}
		if got := f.DefaultConfigFile(); got != filepath.FromSlash(tc.config) {
			t.Errorf("%v: DefaultConfigFile = %q, want %q", tc.env, got, tc.config)
		}
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for shell, want := range map[string]string{
		"bash":       "__start_stepsctl",
		"zsh":        "#compdef stepsctl",
		"fish":       "complete -c stepsctl",
		"powershell": "Register-ArgumentCompleter",
	} {
		if r := h.mustRun(false, "completion", shell); !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
}

// TestExampleConfig checks that the commented example in configs/ is a
// valid config file.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := filepath.Join("..", "..", "..", "..", "configs", "stepsctl.yaml")
	if r := h.mustRun(false, "--config", path, "list"); r.stderr != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	if h.factory.Config.File != path || h.factory.Config.Server != h.url {
		t.Errorf("config %+v", h.factory.Config)
	}
}

func TestFlushFlags(t *testing.T) {
	clear := func(o *command.FlushOptions) { o.Factory = nil }
	checkParsed(t, command.NewCmdFlush, "", clear, command.FlushOptions{})
	checkParsed(t, command.NewCmdFlush, "--all -q", clear, command.FlushOptions{All: true, Quiet: true})
}

func TestVersionFormat(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// --version, what people try first, prints the same as version; and
	// record's own --version stays the component's version.
	for _, arg := range []string{"version", "--version"} {
		r := h.mustRun(false, arg)
		// The format of stepsd version too (internal/version).
		want := regexp.MustCompile(`^stepsctl 1\.0\.0-test \(commit \S+, go\S+, \S+/\S+\)\n$`)
		if !want.MatchString(r.stdout) {
			t.Errorf("%s printed %q, want it to match %s", arg, r.stdout, want)
		}
	}
}

// TestRecordHelpNamesTheTerminalStatuses: a new user recording a last
// step of "deploy" or "released" sees a deploy in progress for ever; the
// help of record lists the statuses that end one, the server's defaults.
func TestRecordHelpNamesTheTerminalStatuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	help := strings.Join(strings.Fields(h.mustRun(false, "record", "--help").stdout), " ")
	for _, st := range append(slices.Clone(model.DefaultSuccessStatuses), model.DefaultFailureStatuses...) {
		if !strings.Contains(help, " "+st+",") && !strings.Contains(help, " "+st+" ") {
			t.Errorf("record --help does not name the terminal status %q", st)
		}
	}
	if !strings.Contains(help, "GET /v1/rules") {
		t.Errorf("record --help does not say where a server's own terminal statuses are listed")
	}
}

// TestTokenRuleInBothHelps: record and run state the one rule for a
// refused token.
func TestTokenRuleInBothHelps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, cmd := range []string{"record", "run"} {
		r := h.mustRun(false, cmd, "--help")
		if !strings.Contains(r.stdout, "HTTP 403:\nread-only) does not stop a deploy, in record and in run alike") {
			t.Errorf("%s --help does not state the rule for a refused token:\n%s", cmd, r.stdout)
		}
	}
}

// TestRefusalsSayWhatToDo: a refusal's one line on stderr ends with what
// to change, once.
func TestRefusalsSayWhatToDo(t *testing.T) {
	t.Parallel()
	t.Run("a server URL without stepsd's routes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		// stepsd is at the root; a script names a path a proxy would add.
		r := h.runArgs(context.Background(), false, []string{"--server", h.url + "/steps", "record", "--component", "api", "--version", "1", "--status", "build"})
		want := "stepsctl: no such endpoint: POST /steps/v1/steps; the API's endpoints are listed at /v1/openapi.yaml (HTTP 404 no_such_endpoint); check --server (STEPSCTL_SERVER): no stepsd route answers there (or that stepsd is older than this stepsctl)\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want 1 and\n%q", r.code, r.stderr, want)
		}
	})
	t.Run("a read token used to record", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withTokens("write:ci-secret-1,read:dash-secret-1"))
		r := h.run(false, "--token", "dash-secret-1", "record", "--no-spool", "--component", "api", "--version", "1", "--status", "build")
		want := "stepsctl: this token may only read; recording needs a write token (HTTP 403 forbidden)\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want 1 and\n%q", r.code, r.stderr, want)
		}
	})
}

// TestUntrustedCertificateSaysWhatToDo: a stepsd serving HTTPS with a
// certificate the system does not trust (the team's own CA, a self-signed
// one) fails with the way to trust it, not only x509's complaint.
func TestUntrustedCertificateSaysWhatToDo(t *testing.T) {
	h := newHarness(t)
	tlsServer := httptest.NewTLSServer(server.New(server.Config{Store: h.store}))
	defer tlsServer.Close()
	r := h.runArgs(context.Background(), false, []string{"--server", tlsServer.URL, "--timeout", "5s", "list"})
	want := "; for a certificate of your own CA, point SSL_CERT_FILE at its PEM file (Linux)"
	if r.code != 1 || !strings.Contains(r.stderr, "certificate signed by unknown authority") || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

// TestTokenWithItsBearerPrefix: a token copied with the header's "Bearer "
// works, with a warning, instead of going out as "Bearer Bearer …" and
// being refused as not valid (a usage error would stop a deploy's record).
func TestTokenWithItsBearerPrefix(t *testing.T) {
	h := newHarness(t, withTokens("read:dashboard-secret"))
	r := h.run(false, "list", "--token", "Bearer dashboard-secret")
	want := "stepsctl: warning: the token begins with \"Bearer \", which stepsctl adds itself; sending the token without it\n"
	if r.code != 0 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 0 and %q", r.code, r.stderr, want)
	}
}

// A server name that does not resolve says to check it, as a refused
// connection says to start stepsd: "no such host" alone left a mistyped
// STEPSCTL_SERVER for the user to find. The resolver answers through the
// HTTP client's dialer, as no test can rely on the machine's DNS.
func TestUnknownHostSaysToCheckTheName(t *testing.T) {
	h := newHarness(t)
	h.httpClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		},
	}}
	r := h.runArgs(context.Background(), false, []string{"list", "--server", "http://steps.exmaple.com:8080", "--timeout", "2s"})
	want := "; check the host name in --server or STEPSCTL_SERVER"
	if r.code != 1 || !strings.Contains(r.stderr, "no such host") || !strings.Contains(r.stderr, want) || len(lines(r.stderr)) != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line saying %q", r.code, r.stderr, want)
	}
}
