package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

func startMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	m := &Main{Config: cfg, Logger: discard()}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	return m
}

func discard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestOriginalAPICallsWorkUnchanged replays the original service's curl
// calls against stepsd on its SQLite default and on MySQL.
func TestOriginalAPICallsWorkUnchanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		m := startMain(t, Config{DB: fresh(t)})
		defer m.Close()
		base := "http://" + m.Addr()

		status, body := httpDo(t, "POST", base+"/v1/steps?component=c1&version=v1&owner=o1&status=s1")
		if status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		status, body = httpDo(t, "GET", base+"/v1/steps?owner=o1")
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if status != 200 || err != nil || len(rows) != 2 {
			t.Fatalf("GET = %d %q (%v)", status, body, err)
		}
		if got := strings.Join(rows[0][:5], ","); got != "component,version,owner,status,ts" {
			t.Errorf("header starts %q, want the original's columns", got)
		}
		if got := strings.Join(rows[1][:4], ","); got != "c1,v1,o1,s1" {
			t.Errorf("row %q", got)
		}
		if _, err := time.Parse(model.SpreadsheetTime+".999999", rows[1][4]); err != nil {
			t.Errorf("ts %q is not a spreadsheet time: %v", rows[1][4], err)
		}
	})
}

func TestRecordSurvivesRestart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		cfg := Config{DB: fresh(t)}
		m := startMain(t, cfg)
		status, body := httpDo(t, "POST", "http://"+m.Addr()+"/v1/steps?component=api&version=9&owner=ana&status=rollout")
		if status != http.StatusCreated {
			t.Fatalf("POST = %d %s", status, body)
		}
		if err := m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		m = startMain(t, cfg)
		defer m.Close()
		status, body = httpDo(t, "GET", "http://"+m.Addr()+"/v1/steps?format=ndjson&version=9")
		if status != 200 || strings.Count(body, "\n") != 1 || !strings.Contains(body, `"status":"rollout"`) {
			t.Errorf("after restart GET = %d %q, want the one step", status, body)
		}
	})
}

func TestRunExitCodes(t *testing.T) {
	db := testdb.SQLite(t)
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "stepsd "},
		{[]string{"migrate", "--db", db}, 0, "up to date"},
		{[]string{"--help"}, 0, "Exit codes"},
		// The commands scripts and Jobs run say their own.
		{[]string{"migrate", "--help"}, 0, "Exit codes: 0 the schema is up to date"},
		{[]string{"config", "--help"}, 0, "Exit codes: 0 printed; 2"},
		{[]string{"--no-such-flag"}, 2, "unknown flag"},
		{[]string{"serve", "extra-arg"}, 2, `serve takes no arguments, got "extra-arg": give each setting after its flag (such as --db DSN)`},
		{[]string{"no-such-command"}, 2, "unknown command"},
		{[]string{"help", "no-such-command"}, 2, `unknown help topic "no-such-command"`},
		{[]string{"help", "migrate"}, 0, "Create or upgrade the database schema"},
		{[]string{"help", "completion", "bash"}, 0, "autocompletion script for the bash shell"},
		{[]string{"completion", "tcsh"}, 2, `completion knows no shell "tcsh"; use bash, zsh, fish or powershell`},
		{[]string{"completion"}, 2, "completion needs the shell to complete for: bash, zsh, fish or powershell"},
		{[]string{"completion", "bash"}, 0, "bash completion"},
		{[]string{"version", "extra-arg"}, 2, `version takes no arguments, got "extra-arg"`},
		{[]string{"migrate", "sqlite:steps.db"}, 2, `migrate takes no arguments, got "sqlite:steps.db": give each setting after its flag (such as --db DSN)`},
		{[]string{"--listen"}, 2, "flag needs an argument"},
		{[]string{"--rate-burst", "many"}, 2, "invalid argument"},
		{[]string{"migrate", "-x"}, 2, "unknown shorthand flag"},
		{[]string{"--lisen", ":9090"}, 2, "unknown flag: --lisen; did you mean --listen?"},
		{[]string{"migrate", "--dsn", "sqlite:steps.db"}, 2, "unknown flag: --dsn; did you mean --db?"},
		{[]string{"--db", "postgres://x"}, 2, "unsupported database DSN"},
		{[]string{"migrate", "--db", "postgres://x"}, 2, "unsupported database DSN"},
		{[]string{"--db", "sqlite:"}, 2, "sqlite DSN needs a file path"},
		{[]string{"--tokens", "admin:xxxxxxxxxx", "--db", db}, 2, "unknown scope"},
		{[]string{"--github-webhook-secret", "short", "--db", db}, 2, "--github-webhook-secret must be at least 8 characters"},
		{[]string{"--gitlab-webhook-token", "gl-token-123\n", "--db", db}, 2, "--gitlab-webhook-token has white space around it"},
		{[]string{"--gitlab-webhook-token", " gl-token-123", "--db", db}, 2, "--gitlab-webhook-token has white space around it"},
		{[]string{"--allowed-hosts", "https://steps.corp:8080", "--db", db}, 2, "--allowed-hosts: allowed host \"https://steps.corp:8080\": give a host name"},
		{[]string{"--log-level", "loud"}, 2, "--log-level"},
		{[]string{"--config", "/does/not/exist.yaml"}, 2, "config file"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) {
			t.Errorf("stepsd %v = %d, stdout %q stderr %q; want %d and %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.out)
		}
		if strings.Contains(stderr.String(), "goroutine ") {
			t.Errorf("stepsd %v printed a stack trace", tt.args)
		}
	}
}

// A mistyped --listen stops stepsd before it touches the database: no
// migration of a production database for a run that was never to serve.
func TestBadListenAddressStopsBeforeTheDatabase(t *testing.T) {
	file := filepath.Join(t.TempDir(), "untouched.db")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--listen", ":abc", "--db", "sqlite:" + file}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `--listen ":abc"`) {
		t.Fatalf("exit %d, stderr %q; want 2 and the flag named", code, stderr.String())
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database was created or opened (stat: %v) before the address was checked", err)
	}
	// A bare port, the usual slip, is answered with the form to use.
	stderr.Reset()
	if code := run(context.Background(), []string{"--listen", "8080", "--db", "sqlite:" + file}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), ":8080") {
		t.Errorf("--listen 8080: exit %d, stderr %q; want 2 and the advice to write :8080", code, stderr.String())
	}
}

// TestPortInUseStopsBeforeTheDatabase: a --listen port another process
// holds stops start-up at once, exit 1 naming it, before the database is
// opened (it was found only after the migrations, which had made a new
// steps.db wherever stepsd was started).
func TestPortInUseStopsBeforeTheDatabase(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	file := filepath.Join(t.TempDir(), "untouched.db")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", "/dev/null", "--listen", taken.Addr().String(), "--db", "sqlite:" + file}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "listen on "+taken.Addr().String()) || !strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("exit %d, stderr %q; want 1 and the address in use", code, stderr.String())
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database was created or opened (stat: %v) before the port was found taken", err)
	}
}

// TestOneTokenUnderTwoScopesIsAUsageError: a token listed as write and as
// read stops stepsd, naming both places and never the token; it was read
// as the read token, and every write with it was a 403.
// The example tokens of the Kubernetes Secret and of the Compose file's
// .env.example, marked CHANGE-ME, stop stepsd: applied unedited they
// protected the API with tokens published in the repository, and stepsd
// did not even warn that it was as good as open.
func TestExampleTokensOfTheManifestsAreRefused(t *testing.T) {
	for _, file := range []string{"kubernetes/stepsd-secret.yaml", ".env.example"} {
		text, err := os.ReadFile(filepath.Join("..", "..", "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s*STEPSD_TOKENS[:=]\s*(\S+)\s*$`).FindSubmatch(text)
		if m == nil {
			t.Fatalf("no STEPSD_TOKENS in deploy/%s", file)
		}
		tokens := string(m[1])
		if !strings.Contains(strings.ToUpper(tokens), "CHANGE-ME") {
			t.Fatalf("the example STEPSD_TOKENS %q of deploy/%s is not marked CHANGE-ME", tokens, file)
		}
		t.Setenv("STEPSD_TOKENS", tokens)
		for _, cmd := range []string{"config", "serve"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{cmd, "--config", "/dev/null", "--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db"), "--listen", "127.0.0.1:0"}, &stdout, &stderr)
			cancel()
			if code != 2 || !strings.Contains(stderr.String(), "--tokens: token 1: is an example value (it says CHANGE-ME)") {
				t.Errorf("stepsd %s with the example tokens of deploy/%s: exit %d, stderr %q; want 2 and the token refused", cmd, file, code, stderr.String())
			}
			if strings.Contains(stderr.String(), "ci-token") {
				t.Errorf("stepsd %s shows the token: %s", cmd, stderr.String())
			}
		}
	}
}

// The webhook secrets of configs/stepsd.yaml, "change-me", stop stepsd
// when uncommented as they are: long enough to pass, they let anyone who
// read the example record steps.
func TestExampleWebhookSecretsAreRefused(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "configs", "stepsd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, flag string }{{"secret", "github-webhook-secret"}, {"token", "gitlab-webhook-token"}} {
		m := regexp.MustCompile(`(?m)^\s*#\s*` + tt.key + `:\s*"([^"]+)"`).FindSubmatch(text)
		if m == nil {
			t.Fatalf("no example %s in configs/stepsd.yaml", tt.key)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"config", "--config", "/dev/null", "--" + tt.flag, string(m[1])}, &stdout, &stderr)
		if want := "--" + tt.flag + " is an example value (it says change-me)"; code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("--%s %s: exit %d, stderr %q; want 2 and %q", tt.flag, m[1], code, stderr.String(), want)
		}
	}
}

func TestOneTokenUnderTwoScopesIsAUsageError(t *testing.T) {
	for _, tokens := range []string{"write:ci-secret-123,read:ci-secret-123", "read:dash-secret-1,write:ci-secret-123,write:dash-secret-1"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"config", "--config", "/dev/null", "--tokens", tokens}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "--tokens: token ") || !strings.Contains(stderr.String(), "the same token as token 1, with another scope") || strings.Contains(stderr.String(), "secret-1") {
			t.Errorf("--tokens %s: exit %d, stderr %q; want 2 naming the two places, not the token", tokens, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "--config", "/dev/null", "--tokens", "write:ci-secret-123,write:ci-secret-123"}, &stdout, &stderr); code != 0 {
		t.Errorf("a token given twice with one scope: exit %d, stderr %q; want 0, it is harmless", code, stderr.String())
	}
}

func TestVersionFormat(t *testing.T) {
	// --version, what people try first, prints the same as version.
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout bytes.Buffer
		if code := run(context.Background(), args, &stdout, io.Discard); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		// The format of stepsctl version too (internal/version).
		want := regexp.MustCompile(`^stepsd \S+ \(commit \S+, go\S+, \S+/\S+\)\n$`)
		if !want.MatchString(stdout.String()) {
			t.Errorf("%v printed %q, want it to match %s", args, stdout.String(), want)
		}
	}
}

// "stepsd version" and the completion scripts do not depend on the
// settings, so a broken config file or environment variable, which an
// operator often runs "stepsd version" to investigate, neither stops them
// nor adds a log line to their output; the commands that use the settings
// still refuse them.
func TestVersionAndCompletionIgnoreBrokenSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte("listen: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEPSD_CONFIG", file)
	t.Setenv("STEPSD_RATE_LIMIT", "5O")
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"version"}, "stepsd "},
		{[]string{"completion", "bash"}, "bash completion"},
		{[]string{"completion", "--help"}, "source <(stepsd completion bash)"},
		{[]string{"help"}, "Usage:"},
		{[]string{"__complete", ""}, "healthcheck"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		// cobra's __complete ends with its directive on stderr: no error,
		// no log line.
		if code != 0 || !strings.Contains(stdout.String(), tt.out) || strings.Contains(stderr.String(), "stepsd:") || strings.Contains(stderr.String(), `"level"`) {
			t.Errorf("stepsd %v = %d, stdout %.80q, stderr %q; want 0, %q and no error or log line", tt.args, code, stdout.String(), stderr.String(), tt.out)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config"}, &stdout, &stderr); code != 2 {
		t.Errorf("stepsd config with a broken config file = %d, want 2; stderr %q", code, stderr.String())
	}
}

func TestUsageErrorIsOneLineAndAPointer(t *testing.T) {
	for _, tt := range []struct {
		args []string
		cmd  string
	}{
		{[]string{"--no-such-flag"}, "stepsd"},
		{[]string{"serve", "--no-such-flag"}, "stepsd serve"},
		{[]string{"serve", "extra-arg"}, "stepsd serve"},
		{[]string{"config", "--log-level", "loud"}, "stepsd config"},
		{[]string{"healthcheck", "--timeout", "soon"}, "stepsd healthcheck"},
		{[]string{"help", "migrat"}, "stepsd"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
			t.Errorf("stepsd %v = %d, want 2", tt.args, code)
		}
		got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		want := "Run '" + tt.cmd + " --help' for usage."
		if len(got) != 2 || !strings.HasPrefix(got[0], "stepsd: ") || got[1] != want {
			t.Errorf("stepsd %v printed %q, want an error line and then %q", tt.args, stderr.String(), want)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stepsd.yaml")
	if err := os.WriteFile(file, []byte("listen: \":1111\"\ndb: \"sqlite:from-file.db\"\nauth:\n  tokens: \"read:file-secret\"\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"config", "--config", file}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("config %v = %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	out := config()
	for _, want := range []string{"listen: :1111", "db: sqlite:from-file.db", `tokens: "read:***"`, "level: debug"} {
		if !strings.Contains(out, want) {
			t.Errorf("file only: %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "file-secret") {
		t.Errorf("config printed a token: %q", out)
	}
	t.Setenv("STEPSD_LISTEN", ":2222")
	t.Setenv("STEPSD_TOKENS", "write:env-secret-1")
	if out := config(); !strings.Contains(out, "listen: :2222") || !strings.Contains(out, `tokens: "write:***"`) {
		t.Errorf("env over file: %q", out)
	}
	if out := config("--listen", ":3333"); !strings.Contains(out, "listen: :3333") {
		t.Errorf("flag over env: %q", out)
	}
}

// TestConfigPastesBack: what "stepsd config" prints, written to a config
// file, gives the same settings, every one of them.
func TestConfigPastesBack(t *testing.T) {
	config := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("config %v = %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	// Every setting away from its default.
	want := config("--listen", "127.0.0.1:9999", "--db", "sqlite:/var/lib/steps/x.db", "--tls-cert", "c.pem", "--tls-key", "k.pem",
		"--max-body-bytes", "2048", "--max-batch-bytes", "4096", "--rate-limit", "0", "--rate-burst", "7", "--max-future-skew", "1m",
		"--success-statuses", "ok,shipped", "--failure-statuses", "boom", "--stuck-after", "2h",
		"--sprint-start", "2026-01-07", "--sprint-days", "10", "--wait-for-db", "3s", "--shutdown-timeout", "5s", "--log-level", "warn",
		"--hooks-mapping", "/etc/steps/hooks.yaml", "--otlp-endpoint", "http://collector:4318")
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := config("--config", file); got != want {
		t.Errorf("config read back from its own output:\n%s\nwant\n%s", got, want)
	}
	if got := config(); got == want {
		t.Errorf("the defaults print the same as the settings: the test checks nothing")
	}
}

// TestConfigAsDocumented: docs/configuration.md shows what "stepsd config"
// prints, whole; it must be what it prints today, with every setting.
func TestConfigAsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ STEPSD_TOKENS=write:ci-secret-123 stepsd config --listen :9090\n"
	_, shown, ok := strings.Cut(string(doc), cmd)
	if !ok {
		t.Fatalf("docs/configuration.md no longer shows %q", cmd)
	}
	shown, _, _ = strings.Cut(shown, "```")
	for _, env := range os.Environ() {
		if name, _, _ := strings.Cut(env, "="); strings.HasPrefix(name, "STEPSD_") || strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("STEPSD_TOKENS", "write:ci-secret-123")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "--listen", ":9090"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != shown {
		t.Errorf("docs/configuration.md shows\n%s\nstepsd config prints\n%s", shown, stdout.String())
	}
}

func TestTokensAreACommentInConfig(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"config", "--tokens", "write:ci-secret-123456,read:dash-secret-123"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := "# auth:\n#   tokens: \"write:***,read:***\"  (hidden: set them with STEPSD_TOKENS)\n"
	if !strings.Contains(stdout.String(), want) || strings.Contains(stdout.String(), "secret") {
		t.Errorf("config printed\n%s\nwant the tokens hidden in a comment:\n%s", stdout.String(), want)
	}
}

func TestMySQLPasswordNeverPrinted(t *testing.T) {
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"config", "--db", "mysql://steps:hunter2@db:3306/steps"}, &stdout, &stderr)
	run(context.Background(), []string{"migrate", "--db", "mysql://steps:hunter2@127.0.0.1:1/steps?timeout=1s"}, &stdout, &stderr)
	// A DSN stepsd refuses is shown in the error that says so: the
	// go-sql-driver form, as its README writes it, or another scheme.
	for _, dsn := range []string{"steps:hunter2@tcp(127.0.0.1:1)/steps", "mariadb://steps:hunter2@127.0.0.1:1/steps"} {
		for _, cmd := range []string{"serve", "migrate", "config"} {
			stderr.Reset()
			if code := run(context.Background(), []string{cmd, "--db", dsn, "--log-level", "debug"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "unsupported database DSN") {
				t.Errorf("stepsd %s --db %s: exit %d, stderr %q; want 2, unsupported", cmd, dsn, code, stderr.String())
			}
			if strings.Contains(stderr.String(), "hunter2") {
				t.Errorf("stepsd %s --db %s shows the password: %s", cmd, dsn, stderr.String())
			}
		}
	}
	if out := stdout.String() + stderr.String(); strings.Contains(out, "hunter2") {
		t.Errorf("output shows the password: %s", out)
	}
}

// A collector URL with a password (http://user:pass@collector:4318) is
// printed by "stepsd config", logged at start-up and quoted when refused:
// each showed the password whole, where a MySQL DSN's is hidden.
func TestOTLPEndpointPasswordNeverShown(t *testing.T) {
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"config", "--config", "/dev/null", "--otlp-endpoint", "http://otel:hunter2@127.0.0.1:1"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "endpoint: http://otel:xxxxx@127.0.0.1:1") {
		t.Errorf("stepsd config: %s", stdout.String())
	}
	for _, endpoint := range []string{"http://otel:hunter2@127.0.0.1:1", "ftp://otel:hunter2@127.0.0.1:1", "http://otel:hunter2@127.0.0.1:port"} {
		m := &Main{Config: Config{DB: testdb.SQLite(t), Listen: "127.0.0.1:0", OTLPEndpoint: endpoint}, Logger: slog.New(slog.NewJSONHandler(&stderr, nil))}
		err := m.Run(t.Context())
		m.Close()
		if err != nil {
			fmt.Fprintln(&stderr, err)
		}
	}
	if out := stdout.String() + stderr.String(); strings.Contains(out, "hunter2") {
		t.Errorf("output shows the collector's password: %s", out)
	}
	if !strings.Contains(stderr.String(), `"otlp_endpoint":"http://otel:xxxxx@127.0.0.1:1/v1/traces"`) {
		t.Errorf("no start-up line naming the collector: %s", stderr.String())
	}
}

// buildStepsd builds this package's binary into a temporary directory and
// returns its path, for the tests that run the real process.
func buildStepsd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stepsd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSIGTERMShutsDownCleanly runs the real binary: SIGTERM must let it
// finish and exit 0.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildStepsd(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--listen", addr, "--db", testdb.SQLite(t))
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, "http://"+addr)
	if status, body := httpDo(t, "POST", "http://"+addr+"/v1/steps?component=c&version=1&owner=o&status=s"); status != 201 {
		t.Fatalf("POST = %d %s", status, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("stepsd did not exit after SIGTERM")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"request","method":"POST","path":"/v1/steps","status":201`) {
		t.Errorf("no request log line for the POST:\n%s", logs.String())
	}
}

// TestGarbageCollectorDefaults runs the real binary: it collects at
// gcPercent with a soft limit of gcMemoryLimit, unless GOGC or GOMEMLIMIT
// say otherwise, and /metrics shows what it runs with.
func TestGarbageCollectorDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildStepsd(t)
	for _, c := range []struct {
		env                    []string
		wantPercent, wantLimit string
	}{
		{nil, "400", "2.68435456e+08"},
		{[]string{"GOGC=150"}, "150", "2.68435456e+08"},
		{[]string{"GOMEMLIMIT=1GiB"}, "400", "1.073741824e+09"},
		{[]string{"GOGC=100", "GOMEMLIMIT=off"}, "100", "9.223372036854776e+18"},
	} {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--listen", addr, "--db", testdb.SQLite(t))
		cmd.Env = append(os.Environ(), "GOGC=", "GOMEMLIMIT=")
		cmd.Env = append(cmd.Env, c.env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, "http://"+addr)
		_, metrics := httpDo(t, "GET", "http://"+addr+"/metrics")
		cmd.Process.Kill()
		cmd.Wait()
		for name, want := range map[string]string{"go_gc_gogc_percent": c.wantPercent, "go_gc_gomemlimit_bytes": c.wantLimit} {
			if !strings.Contains(metrics, "\n"+name+" "+want+"\n") {
				t.Errorf("env %q: want %s %s in /metrics, got:\n%s", c.env, name, want, grepLines(metrics, name))
			}
		}
	}
}

// SIGTERM while stepsd waits for its database at start-up (a rollout, or
// "docker stop", before the database came up) stops it as cleanly as once
// serving: exit 0 and a log line, not exit 1 and "context canceled".
func TestSIGTERMDuringStartUpExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildStepsd(t)
	// Nothing listens on port 1: stepsd waits for the database, up to
	// --wait-for-db.
	cmd := exec.Command(bin, "--listen", freeAddr(t), "--db", "mysql://root@127.0.0.1:1/steps", "--wait-for-db", "1m")
	cmd.Dir = t.TempDir()
	// Read while stepsd writes: a buffer whose reads and writes are locked.
	var logs testdb.LogBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "database unreachable") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("stepsd did not start waiting for the database:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM during start-up: %v, want 0\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("stepsd did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "stopped before serving") || strings.Contains(logs.String(), "stepsd: ") {
		t.Errorf("want a log line that it stopped and no error line:\n%s", logs.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", base)
}

func TestStatusListsSplitOnCommasFromEveryLayer(t *testing.T) {
	t.Setenv("STEPSD_SUCCESS_STATUSES", "ok, shipped")
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"config", "--failure-statuses", "boom,bang"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`success_statuses: [ok, shipped]`, `failure_statuses: [boom, bang]`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("config output lacks %s:\n%s", want, stdout.String())
		}
	}
}

func TestHealthcheck(t *testing.T) {
	m := startMain(t, Config{DB: testdb.SQLite(t)})
	defer m.Close()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", "--listen", m.Addr(), "--path", "/readyz"}, &stdout, &stderr); code != 0 {
		t.Errorf("healthcheck of a running stepsd = %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--listen", m.Addr(), "--path", "readyz"}, &stdout, &stderr); code != 0 {
		t.Errorf("healthcheck --path readyz (no slash) = %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--listen", freeAddr(t), "--timeout", "1s"}, &stdout, &stderr); code != 1 {
		t.Errorf("healthcheck of nothing = %d, want 1", code)
	}
	// Its help teaches what says where the probe goes, not serve's
	// flags, which it accepts all the same.
	stdout.Reset()
	if code := run(context.Background(), []string{"healthcheck", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("healthcheck --help = %d", code)
	}
	for _, flag := range []string{"--path", "--timeout", "--listen", "--tls-cert", "--config"} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("healthcheck --help lacks %s:\n%s", flag, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "--rate-limit") {
		t.Errorf("healthcheck --help lists serve's --rate-limit:\n%s", stdout.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--listen", m.Addr(), "--rate-limit", "5"}, &stdout, &stderr); code != 0 {
		t.Errorf("healthcheck with serve's flags = %d: %s", code, stderr.String())
	}
}

func TestWaitsForTheDatabaseAtStartUp(t *testing.T) {
	addr := freeAddr(t)
	m := &Main{Config: Config{DB: "mysql://root@" + addr + "/steps?timeout=1s", Listen: "127.0.0.1:0", WaitForDB: 1500 * time.Millisecond}, Logger: discard()}
	start := time.Now()
	err := m.Run(t.Context())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "unavailable") || !strings.Contains(err.Error(), "after waiting 1.5s (--wait-for-db)") {
		t.Fatalf("Run = %v, want the database unavailable after the wait, naming --wait-for-db", err)
	}
	if took := time.Since(start); took < time.Second || took > 10*time.Second {
		t.Errorf("gave up after %v, want about the 1.5 s wait", took)
	}
}

// TestSprintCalendar: the sprint settings come from the file, env and
// flags like the others, are checked at start-up, and reach the API as the
// default of /v1/stats.
func TestSprintCalendar(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte("sprint:\n  start: 2026-01-07\n  days: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(args ...string) (string, int) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"config", "--config", file}, args...), &stdout, &stderr)
		return stdout.String() + stderr.String(), code
	}
	if out, code := config(); code != 0 || !strings.Contains(out, "start: \"2026-01-07\"\n") || !strings.Contains(out, "days: 10\n") {
		t.Errorf("file: %d %q", code, out)
	}
	t.Setenv("STEPSD_SPRINT_DAYS", "21")
	if out, _ := config(); !strings.Contains(out, "days: 21\n") {
		t.Errorf("env over file: %q", out)
	}
	if out, _ := config("--sprint-days", "7", "--sprint-start", "2026-02-02"); !strings.Contains(out, "days: 7\n") || !strings.Contains(out, "start: \"2026-02-02\"\n") {
		t.Errorf("flag over env: %q", out)
	}
	for _, bad := range [][]string{{"--sprint-days", "0"}, {"--sprint-days", "400"}, {"--sprint-days", "two"}, {"--sprint-start", "soon"}} {
		if out, code := config(bad...); code != 2 || !strings.Contains(out, bad[0]) {
			t.Errorf("%v = %d %q, want 2 naming %s", bad, code, out, bad[0])
		}
	}
	// The flag's words, not the API parameter's (sprint_days must be …).
	if out, _ := config("--sprint-days", "400"); !strings.Contains(out, `--sprint-days: "400" is not a whole number of days from 1 to 366`) {
		t.Errorf("400 days: %q, want the flag's range", out)
	}
	if out, _ := config("--sprint-start", "2026-13-01"); !strings.Contains(out, `--sprint-start: "2026-13-01" is not a date; use YYYY-MM-DD`) {
		t.Errorf("a month 13: %q, want the format of a date", out)
	}

	m := startMain(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "steps.db"), SprintDays: 10, SprintStart: time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)})
	defer m.Close()
	base := "http://" + m.Addr()
	for _, q := range []string{"component=api&version=1&owner=o&status=build&time=2026-01-12", "component=api&version=1&owner=o&status=finished&time=2026-01-12T00:10:00Z"} {
		if status, body := httpDo(t, "POST", base+"/v1/steps?"+q); status != 201 {
			t.Fatalf("POST = %d %s", status, body)
		}
	}
	status, body := httpDo(t, "GET", base+"/v1/stats?bucket=sprint")
	if status != 200 || !strings.Contains(body, `"sprint_days":10`) || !strings.Contains(body, `"start":"2026-01-07T00:00:00Z"`) {
		t.Errorf("stats = %d %.400s, want 10-day sprints from 2026-01-07", status, body)
	}
}

// TestSprintStartGivenAsADatetimeIsItsDay: --sprint-start takes a
// datetime too, but the calendar is one of days: served, the sprints start
// at midnight of the day it names, as written, which is what "stepsd
// config" prints; they started at its clock time (10:00, or 21:00 the day
// before for an offset east of UTC), which no output showed.
func TestSprintStartGivenAsADatetimeIsItsDay(t *testing.T) {
	for _, start := range []string{"2026-01-07 10:00:00", "2026-01-07T02:00:00+05:00"} {
		t.Run(start, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"config", "--config", "/dev/null", "--sprint-start", start}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "start: \"2026-01-07\"\n") {
				t.Errorf("config = %d %s%s, want the start as 2026-01-07", code, stdout.String(), stderr.String())
			}

			addr := freeAddr(t)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			code := make(chan int, 1)
			go func() {
				code <- run(ctx, []string{"--config", "/dev/null", "--listen", addr, "--db", testdb.SQLite(t), "--log-level", "error",
					"--sprint-start", start, "--sprint-days", "7"}, &stdout, &stderr)
			}()
			base := "http://" + addr
			waitHealthy(t, base)
			for _, q := range []string{"component=api&version=1&owner=o&status=build&time=2026-01-15T12:00:00Z", "component=api&version=1&owner=o&status=finished&time=2026-01-15T12:10:00Z"} {
				if status, body := httpDo(t, "POST", base+"/v1/steps?"+q); status != 201 {
					t.Fatalf("POST = %d %s", status, body)
				}
			}
			status, body := httpDo(t, "GET", base+"/v1/stats?bucket=sprint")
			if status != 200 || !strings.Contains(body, `"start":"2026-01-14T00:00:00Z","end":"2026-01-21T00:00:00Z"`) {
				t.Errorf("stats = %d %.300s, want the sprint of 2026-01-14 from midnight", status, body)
			}
			stop()
			if c := <-code; c != 0 {
				t.Errorf("exit code %d: %s", c, stderr.String())
			}
		})
	}
}

// TestTimeZone: --timezone is checked at start-up (an unknown zone is a
// usage error naming the flag, with an example) and reaches the API, whose
// buckets then start at midnight in it.
func TestTimeZone(t *testing.T) {
	config := func(args ...string) (string, int) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr)
		return stdout.String() + stderr.String(), code
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "+11:00"} {
		if out, code := config("--timezone", bad); code != 2 || !strings.Contains(out, "--timezone") || !strings.Contains(out, "Australia/Sydney") {
			t.Errorf("--timezone %s = %d %q; want 2 naming --timezone with an example", bad, code, out)
		}
	}
	if out, code := config(); code != 0 || !strings.Contains(out, "timezone: UTC\n") {
		t.Errorf("default: %d %q; want timezone: UTC", code, out)
	}

	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	m := startMain(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "steps.db"), Location: syd})
	defer m.Close()
	base := "http://" + m.Addr()
	// Monday 08:00 in Sydney, Sunday 21:00 UTC.
	for _, q := range []string{"component=api&version=1&owner=o&status=build&time=2026-11-29T21:00:00Z", "component=api&version=1&owner=o&status=finished&time=2026-11-29T21:10:00Z"} {
		if status, body := httpDo(t, "POST", base+"/v1/steps?"+q); status != 201 {
			t.Fatalf("POST = %d %s", status, body)
		}
	}
	if status, body := httpDo(t, "GET", base+"/v1/stats?bucket=week"); status != 200 || !strings.Contains(body, `"start":"2026-11-30T00:00:00+11:00"`) {
		t.Errorf("stats = %d %.400s; want the week of Monday 2026-11-30 in Sydney", status, body)
	}
}

// A config-file key that is no setting (a typo) is a usage error naming
// it, not ignored with the default left in force; the sections of the
// example file, whose keys are commented out, are not.
func TestUnknownConfigKeyIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		text string
		code int
		out  string
	}{
		{"limits:\n  rate_limt: 10\n", 2, `unknown key "limits.rate_limt"`},
		{"listn: :9090\n", 2, `unknown key "listn"`},
		{"log:\nhooks:\n  github:\n", 0, "listen: :8080"},
	} {
		file := filepath.Join(dir, "stepsd.yaml")
		if err := os.WriteFile(file, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"config", "--config", file}, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) {
			t.Errorf("config file %q: exit %d, stdout %q stderr %q; want %d and %q", tt.text, code, stdout.String(), stderr.String(), tt.code, tt.out)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "--config", filepath.Join("..", "..", "configs", "stepsd.yaml")}, &stdout, &stderr); code != 0 {
		t.Errorf("configs/stepsd.yaml: exit %d: %s", code, stderr.String())
	}
}

// The config file is YAML whatever its name ends with, as stepsctl's is: a
// file named without .yaml is read, and a missing one is reported missing,
// not as an "Unsupported Config Type".
func TestConfigFileWithoutYAMLExtension(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "stepsd.conf")
	if err := os.WriteFile(file, []byte("listen: :9191\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "--config", file}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "listen: :9191") {
		t.Errorf("config --config %s: exit %d, stdout %q stderr %q; want 0 and listen :9191", file, code, stdout.String(), stderr.String())
	}
	missing := filepath.Join(dir, "config")
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"config", "--config", missing}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "no such file") {
		t.Errorf("config --config %s: exit %d, stderr %q; want 2 and no such file", missing, code, stderr.String())
	}
}

// stepsd config refuses a --db that serve would refuse, with serve's exit
// code and advice, and without echoing the password.
func TestConfigRefusesABadDSN(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"foo:bar", "unsupported database DSN"},
		{"mysql://steps:se/cr#t@db:3306/steps", "percent-encoded"},
		{"sqlite:", "sqlite DSN needs a file path"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"config", "--db", tt.dsn}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tt.want) || strings.Contains(stdout.String()+stderr.String(), "cr#t") {
			t.Errorf("config --db %q: exit %d, stdout %q stderr %q; want 2 and %q, no password", tt.dsn, code, stdout.String(), stderr.String(), tt.want)
		}
	}
}

// stepsd config refuses a --listen that serve would refuse (a bare port is
// the usual slip), rather than printing it under exit 0.
func TestConfigRefusesABadListenAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"config", "--db", "sqlite:" + filepath.Join(t.TempDir(), "steps.db"), "--listen", "8080"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--listen") || !strings.Contains(stderr.String(), ":PORT") {
		t.Errorf("config --listen 8080: exit %d, stdout %q stderr %q; want 2 and the forms --listen takes", code, stdout.String(), stderr.String())
	}
}

// A DSN with a newline around it, as a Secret made with echo holds, is
// taken without it rather than refused as "not a valid URL".
func TestDSNFromTheEnvironmentIsTrimmed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "steps.db")
	t.Setenv("STEPSD_DB", "sqlite:"+file+"\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, &stdout, &stderr); code != 0 {
		t.Fatalf("migrate with STEPSD_DB ending in a newline: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the database is not at %s: %v", file, err)
	}
	t.Setenv("STEPSD_DB", " mysql://steps:secret@db:3306/steps\n")
	stdout.Reset()
	if code := run(context.Background(), []string{"config"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "db: mysql://steps:xxxxx@db:3306/steps\n") {
		t.Errorf("config with a DSN in spaces: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// A number or duration setting that does not parse, from the environment
// or the config file, is a usage error naming the flag, not a silent 0: for
// rate_limit and max_client_conns 0 means "no limit".
func TestBadNumberInEnvOrFileIsAUsageError(t *testing.T) {
	for _, tt := range []struct{ flag, key, value string }{
		{"rate-limit", "limits.rate_limit", "5O"},
		{"rate-burst", "limits.rate_burst", "many"},
		{"max-client-conns", "limits.max_client_conns", "lots"},
		{"max-conns", "limits.max_conns", "plenty"},
		{"max-body-bytes", "limits.max_body_bytes", "1MB"},
		{"max-future-skew", "limits.max_future_skew", "five minutes"},
		{"stuck-after", "deployments.stuck_after", "1 hour"},
		// A duration without its unit: not 30 nanoseconds.
		{"shutdown-timeout", "shutdown_timeout", "30"},
		{"wait-for-db", "wait_for_db", "60"},
	} {
		env := "STEPSD_" + strings.ToUpper(strings.ReplaceAll(tt.flag, "-", "_"))
		text := fmt.Sprintf("%s: %s\n", tt.key, tt.value)
		if parent, leaf, nested := strings.Cut(tt.key, "."); nested {
			text = fmt.Sprintf("%s:\n  %s: %s\n", parent, leaf, tt.value)
		}
		file := filepath.Join(t.TempDir(), "stepsd.yaml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		check := func(layer string, args ...string) {
			t.Helper()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr)
			if want := fmt.Sprintf("--%s: %q", tt.flag, tt.value); code != 2 || !strings.Contains(stderr.String(), want) {
				t.Errorf("%s %s=%q: exit %d, stderr %q; want 2 and %s", layer, tt.flag, tt.value, code, stderr.String(), want)
			}
		}
		t.Setenv(env, tt.value)
		check("env")
		os.Unsetenv(env)
		check("file", "--config", file)
	}
}

// TestUsageErrorSaysWhereTheValueCameFrom: a refused setting is named by
// its flag, which an operator who set it in the environment (a Kubernetes
// Secret, a Compose file) or in the config file never typed: the message
// also names the variable or the file's key, so that they know what to
// fix. Given as the flag, the message stays as it was.
func TestUsageErrorSaysWhereTheValueCameFrom(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte("auth:\n  tokens: write:short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env, value string
		args       []string
		want       string
	}{
		{"STEPSD_TOKENS", "write:CHANGE-ME-ci-token", nil, "(set by STEPSD_TOKENS)"},
		{"STEPSD_RATE_LIMIT", "5O", nil, "(set by STEPSD_RATE_LIMIT)"},
		{"STEPSD_TIMEZONE", "Mars/Olympus", nil, "(set by STEPSD_TIMEZONE)"},
		{"STEPSD_GITHUB_WEBHOOK_SECRET", "short", nil, "(set by STEPSD_GITHUB_WEBHOOK_SECRET)"},
		{"", "", []string{"--config", file}, "(set by auth.tokens in " + file + ")"},
		{"", "", []string{"--tokens", "write:short"}, ""},
	} {
		if tt.env != "" {
			t.Setenv(tt.env, tt.value)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"config"}, tt.args...), &stdout, &stderr)
		var line string
		for l := range strings.Lines(stderr.String()) {
			if strings.HasPrefix(l, "stepsd: ") {
				line = strings.TrimSuffix(l, "\n")
			}
		}
		if tt.env != "" {
			os.Unsetenv(tt.env)
		}
		if code != 2 {
			t.Errorf("%s=%q %v: exit %d, want 2; stderr %q", tt.env, tt.value, tt.args, code, stderr.String())
			continue
		}
		if tt.want == "" {
			if strings.Contains(line, "set by") {
				t.Errorf("%v: %q names a source; the flag was typed", tt.args, line)
			}
			continue
		}
		if !strings.HasSuffix(line, tt.want) {
			t.Errorf("%s=%q %v: %q; want it to end with %q", tt.env, tt.value, tt.args, line, tt.want)
		}
	}
}

// TestListOrMappingForATextSettingIsAUsageError: a setting that takes one
// value, given a YAML list or mapping in the config file, stops stepsd
// with exit 2 naming it. It was read as empty: "tokens: [write:…]" served
// the API open, "listen: [...]" on a random port, a zone as UTC.
func TestListOrMappingForATextSettingIsAUsageError(t *testing.T) {
	for _, tt := range []struct{ flag, file string }{
		{"tokens", "auth:\n  tokens: [write:ci-secret-123, read:dashboard-secret]\n"},
		{"listen", "listen: [127.0.0.1, 8080]\n"},
		{"db", "db:\n  sqlite: steps.db\n"},
		{"timezone", "timezone: [Australia/Sydney]\n"},
		{"sprint-days", "sprint:\n  days: [14]\n"},
		{"log-level", "log:\n  level: {debug: true}\n"},
		{"github-webhook-secret", "hooks:\n  github:\n    secret: [s3cret-hook]\n"},
	} {
		file := filepath.Join(t.TempDir(), "stepsd.yaml")
		if err := os.WriteFile(file, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"config", "--config", file}, &stdout, &stderr)
		if want := "--" + tt.flag + ": the config file gives "; code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.file, code, stderr.String(), want)
		}
	}
}

// A section of the config file given a value of its own, where its settings
// belong indented under it, is a usage error naming it, for serve as for
// "stepsd config". viper read every setting under it as unset: "auth:
// write:…" served an open API, "limits: 5" served with every limit at 0
// (no rate limit, no connection bound), "otlp: URL" exported nothing, all
// with exit 0. The value is not shown: under auth or hooks it is a secret.
func TestSectionGivenAValueIsAUsageError(t *testing.T) {
	for _, tt := range []struct{ file, key string }{
		{"auth: write:ci-secret-123\n", "auth"},
		{"limits: 5\n", "limits"},
		{"limits: [1, 2]\n", "limits"},
		{"otlp: http://collector:4318\n", "otlp"},
		{"log: debug\n", "log"},
		{"deployments: finished\n", "deployments"},
		{"hooks:\n  github: s3cret-hook-123\n", "hooks.github"},
	} {
		file := filepath.Join(t.TempDir(), "stepsd.yaml")
		if err := os.WriteFile(file, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"config", "--config", file},
			{"serve", "--config", file, "--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db"), "--listen", "127.0.0.1:0"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var stdout, stderr bytes.Buffer
			code := run(ctx, args, &stdout, &stderr)
			cancel()
			want := fmt.Sprintf("key %q has a value, but it is a section", tt.key)
			if code != 2 || !strings.Contains(stderr.String(), want) {
				t.Errorf("stepsd %s with %q: exit %d, stderr %q; want 2 and %q", args[0], tt.file, code, stderr.String(), want)
			}
			if strings.Contains(stderr.String(), "secret-123") || strings.Contains(stderr.String(), "s3cret") {
				t.Errorf("stepsd %s with %q shows the secret: %q", args[0], tt.file, stderr.String())
			}
		}
	}
	// A section left empty, its settings commented out, is no error.
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte("auth:\nlimits: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "--config", file}, &stdout, &stderr); code != 0 {
		t.Errorf("empty sections: exit %d, stderr %q", code, stderr.String())
	}
}

// An environment variable named like stepsd's settings that no setting
// reads is a warning naming it: STEPSD_TOKEN (for STEPSD_TOKENS) served an
// open API, STEPSD_RATE_LIMT the default rate, without a word. The
// variables Kubernetes sets for a Service named stepsd are not warned of,
// and no value is shown.
func TestUnknownEnvironmentVariableIsAWarning(t *testing.T) {
	t.Setenv("STEPSD_TOKEN", "write:ci-secret-123")
	t.Setenv("STEPSD_RATE_LIMT", "10")
	t.Setenv("STEPSD_PORT", "tcp://10.0.0.7:8080")
	t.Setenv("STEPSD_PORT_8080_TCP_ADDR", "10.0.0.7")
	t.Setenv("STEPSD_SERVICE_HOST", "10.0.0.7")
	t.Setenv("STEPSD_LISTEN", ":9090")
	for _, args := range [][]string{
		{"config"},
		{"serve", "--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db"), "--listen", "127.0.0.1:0"},
	} {
		// Cancelled: serve reads its settings, then stops before serving.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var stdout, stderr bytes.Buffer
		run(ctx, args, &stdout, &stderr)
		out := stderr.String()
		for _, name := range []string{"STEPSD_TOKEN", "STEPSD_RATE_LIMT"} {
			if !strings.Contains(out, `"msg":"environment variable `+name+` is no setting of stepsd and is ignored; check its spelling"`) {
				t.Errorf("stepsd %s: no warning of %s: %s", args[0], name, out)
			}
		}
		for _, name := range []string{"variable STEPSD_PORT ", "STEPSD_PORT_8080", "STEPSD_SERVICE_HOST", "variable STEPSD_LISTEN "} {
			if strings.Contains(out, name) {
				t.Errorf("stepsd %s warns of %s: %s", args[0], name, out)
			}
		}
		if strings.Contains(out, "ci-secret-123") {
			t.Errorf("stepsd %s shows the value of STEPSD_TOKEN: %s", args[0], out)
		}
	}
}

// A limit or duration that parses but is out of its range is a usage error
// naming the flag, from a flag, the environment or the file, for serve and
// for "stepsd config" alike. The server reads 0 and negative values of these
// as its defaults: --max-body-bytes -5 served with 1 MiB, --max-future-skew 0
// with 5 minutes, --rate-limit NaN with no limit, while "stepsd config"
// printed the value asked for with exit 0.
func TestOutOfRangeSettingIsAUsageError(t *testing.T) {
	for _, tt := range []struct{ flag, key, value string }{
		{"max-body-bytes", "limits.max_body_bytes", "-5"},
		{"max-body-bytes", "limits.max_body_bytes", "0"},
		{"max-batch-bytes", "limits.max_batch_bytes", "0"},
		{"max-write-bytes", "limits.max_write_bytes", "-1"},
		{"max-answer-bytes", "limits.max_answer_bytes", "0"},
		{"client-batches", "limits.client_batches", "0"},
		{"max-analyses", "limits.max_analyses", "-1"},
		{"rate-limit", "limits.rate_limit", "-3"},
		{"rate-limit", "limits.rate_limit", "NaN"},
		{"rate-burst", "limits.rate_burst", "-1"},
		{"max-client-conns", "limits.max_client_conns", "-1"},
		{"max-conns", "limits.max_conns", "-2"},
		{"max-future-skew", "limits.max_future_skew", "0s"},
		{"stuck-after", "deployments.stuck_after", "0s"},
		{"wait-for-db", "wait_for_db", "-1s"},
		{"shutdown-timeout", "shutdown_timeout", "0s"},
	} {
		t.Run(tt.flag+"="+tt.value, func(t *testing.T) {
			env := "STEPSD_" + strings.ToUpper(strings.ReplaceAll(tt.flag, "-", "_"))
			parent, leaf, _ := strings.Cut(tt.key, ".")
			text := fmt.Sprintf("%s: %q\n", tt.key, tt.value)
			if leaf != "" {
				text = fmt.Sprintf("%s:\n  %s: %q\n", parent, leaf, tt.value)
			}
			file := filepath.Join(t.TempDir(), "stepsd.yaml")
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), "untouched.db")
			check := func(layer string, args ...string) {
				t.Helper()
				// Refused, serve returns at once; taken, it would serve
				// until this context ends.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				var stdout, stderr bytes.Buffer
				code := run(ctx, args, &stdout, &stderr)
				if want := "--" + tt.flag + ": "; code != 2 || !strings.Contains(stderr.String(), want) {
					t.Errorf("%s %v: exit %d, stdout %q, stderr %q; want 2 and %q", layer, args, code, stdout.String(), stderr.String(), want)
				}
			}
			check("flag", "config", "--"+tt.flag+"="+tt.value)
			check("flag", "serve", "--listen", "127.0.0.1:0", "--db", "sqlite:"+db, "--"+tt.flag+"="+tt.value)
			t.Setenv(env, tt.value)
			check("env", "config")
			os.Unsetenv(env)
			check("file", "config", "--config", file)
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("serve opened the database (stat: %v) before refusing the setting", err)
			}
		})
	}
	// The values that mean something at their edge stay taken.
	for _, args := range [][]string{{"--rate-limit", "0"}, {"--max-client-conns", "0"}, {"--wait-for-db", "0s"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr); code != 0 {
			t.Errorf("config %v = %d: %s", args, code, stderr.String())
		}
	}
}

// "stepsd config" refuses what serve refuses before opening anything, rather
// than print it with exit 0.
func TestConfigRefusesWhatServeRefuses(t *testing.T) {
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"--allowed-hosts", "https://steps.corp:8080"}, "--allowed-hosts"},
		{[]string{"--success-statuses", "done", "--failure-statuses", "DONE"}, "both a success and a failure status"},
		{[]string{"--github-webhook-secret", "short"}, "--github-webhook-secret must be at least 8 characters"},
		{[]string{"--gitlab-webhook-token", "gl-token-123\n"}, "--gitlab-webhook-token has white space around it"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"config"}, tt.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tt.out) || stdout.Len() != 0 {
			t.Errorf("config %q = %d, stdout %q, stderr %q; want 2, nothing printed and %q", tt.args, code, stdout.String(), stderr.String(), tt.out)
		}
	}
}

// TestEverySettingFromFlagEnvAndFile: each entry of the settings table is
// a flag, an environment variable and a config-file key, read into the
// configuration and printed back by "stepsd config" at that key. A new
// setting fails here until it has an example below.
func TestEverySettingFromFlagEnvAndFile(t *testing.T) {
	examples := map[string]struct{ in, printed string }{
		"listen":           {":7070", ":7070"},
		"db":               {"sqlite:/tmp/example.db", "sqlite:/tmp/example.db"},
		"tokens":           {"write:abcdefghijkl", `#   tokens: "write:***"`}, // printed only as a comment
		"tls-cert":         {"c.pem", "c.pem"},
		"tls-key":          {"k.pem", "k.pem"},
		"max-body-bytes":   {"2048", "2048"},
		"max-batch-bytes":  {"4096", "4096"},
		"max-write-bytes":  {"8192", "8192"},
		"max-answer-bytes": {"16384", "16384"},
		"client-batches":   {"3", "3"},
		"max-analyses":     {"2", "2"},
		"rate-limit":       {"7.5", "7.5"},
		"rate-burst":       {"9", "9"},
		"max-client-conns": {"64", "64"},
		"max-conns":        {"5000", "5000"},
		"allowed-hosts":    {"steps.corp,.corp.example", "[steps.corp .corp.example]"},
		"max-future-skew":  {"2m", "2m0s"},
		"success-statuses": {"ok,shipped", "[ok shipped]"},
		"failure-statuses": {"boom", "[boom]"},
		"stuck-after":      {"3h", "3h0m0s"},
		"sprint-start":     {"2026-01-07", "2026-01-07"},
		"sprint-days":      {"10", "10"},
		"timezone":         {"Australia/Sydney", "Australia/Sydney"},
		"wait-for-db":      {"3s", "3s"},
		"shutdown-timeout": {"5s", "5s"},
		"log-level":        {"warn", "warn"},
		// Secrets are printed only as a comment, like tokens.
		"github-webhook-secret": {"gh-secret-123", `#     secret: "***"`},
		"gitlab-webhook-token":  {"gl-token-123", `#     token: "***"`},
		"hooks-mapping":         {"hooks.yaml", "hooks.yaml"},
		"otlp-endpoint":         {"http://collector:4318", "http://collector:4318"},
		"otlp-traces-endpoint":  {"http://collector:4318/v1/traces", "http://collector:4318/v1/traces"},
	}
	for _, s := range settings {
		ex, ok := examples[s.flag]
		if !ok {
			t.Errorf("setting %s has no example in this test: add one", s.flag)
			continue
		}
		t.Run(s.flag, func(t *testing.T) {
			check := func(layer string, args ...string) {
				t.Helper()
				var stdout, stderr bytes.Buffer
				if code := run(context.Background(), append([]string{"config"}, args...), &stdout, &stderr); code != 0 {
					t.Fatalf("%s: config = %d: %s", layer, code, stderr.String())
				}
				if s.print == nil {
					if !strings.Contains(stdout.String(), ex.printed) || strings.Contains(stdout.String(), ex.in) {
						t.Errorf("%s: %s is not hidden in a comment:\n%s", layer, s.flag, stdout.String())
					}
					return
				}
				var doc map[string]any
				if err := yaml.Unmarshal(stdout.Bytes(), &doc); err != nil {
					t.Fatalf("%s: %v", layer, err)
				}
				var got any = doc
				for _, name := range strings.Split(s.key, ".") {
					m, _ := got.(map[string]any)
					got = m[name]
				}
				if fmt.Sprint(got) != ex.printed {
					t.Errorf("%s: %s printed as %v, want %s", layer, s.key, got, ex.printed)
				}
			}
			check("flag", "--"+s.flag, ex.in)
			t.Setenv(s.env(), ex.in)
			check("env")
			os.Unsetenv(s.env())
			file := map[string]any{}
			m, path := file, strings.Split(s.key, ".")
			for _, name := range path[:len(path)-1] {
				m[name] = map[string]any{}
				m = m[name].(map[string]any)
			}
			m[path[len(path)-1]] = ex.in
			body, err := yaml.Marshal(file)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(t.TempDir(), "stepsd.yaml")
			if err := os.WriteFile(name, body, 0o600); err != nil {
				t.Fatal(err)
			}
			check("file", "--config", name)
		})
	}
}

// The build_info metric names the build as "stepsd version" does, so
// that operations.md's count by (version) shows the word people see.
func TestBuildInfoMetricHasTheVersion(t *testing.T) {
	m := startMain(t, Config{DB: testdb.SQLite(t)})
	defer m.Close()
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("version: exit %d", code)
	}
	words := strings.Fields(stdout.String())
	if len(words) < 2 {
		t.Fatalf("version printed %q", stdout.String())
	}
	res, err := http.Get("http://" + m.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("version=%q", words[1]); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grepLines(string(body), "steps_build_info"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// TestShutdownTimeoutCutsAndExitsZero: a request still in flight when
// --shutdown-timeout runs out (a client sending its body slowly) has its
// connection closed, stepsd says so in a JSON line and exits 0, as on any
// SIGTERM. It exited 1 with a bare "shutdown: context deadline exceeded"
// and left the connection open.
func TestShutdownTimeoutCutsAndExitsZero(t *testing.T) {
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--listen", addr, "--db", testdb.SQLite(t), "--shutdown-timeout", "1s"}, &stdout, &stderr)
	}()
	waitHealthy(t, "http://"+addr)

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "POST /v1/steps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the request is in flight, its body coming
	began := time.Now()
	stop()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after the shutdown timeout, want 0; stderr:\n%s", c, stderr.String())
		}
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("stopped %v after the signal; want about the 1 s shutdown timeout", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stepsd did not stop after its shutdown timeout")
	}
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(slow); err != nil {
		t.Errorf("the request still in flight was not cut: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"level":"WARN","msg":"requests still in flight after the shutdown timeout: closing their connections","shutdown_timeout":"1s"`) {
		t.Errorf("no warning that requests were cut:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("stderr line is not JSON: %q", line)
		}
	}
}

// TestNewerDatabaseIsRefused: stepsd serve and stepsd migrate on a
// database that a newer stepsd migrated exit 1, naming the database, the
// migration and what to do, and start nothing.
func TestNewerDatabaseIsRefused(t *testing.T) {
	dsn := testdb.SQLite(t)
	st := testdb.Open(t, dsn)
	if _, err := st.DB().Exec(`INSERT INTO bun_migrations (name, group_id) VALUES ('29990101000000', 99)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{"--listen", "127.0.0.1:0"}, {"migrate"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, "--db", dsn), &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "stepsd: database "+dsn+": the database was migrated by a newer stepsd (migration 29990101000000") ||
			!strings.Contains(stderr.String(), "restore the backup") {
			t.Errorf("stepsd %v on a newer database = %d\n%s", args, code, stderr.String())
		}
	}
}

// The start-up line names the SQLite file by its absolute path: the
// default sqlite:steps.db is relative to where stepsd started, and a new
// user who starts it from another directory finds an empty database
// without knowing which file either one is.
func TestListeningLogNamesTheSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var logs testdb.LogBuffer // the sealing loop logs while the test reads
	m := &Main{Config: Config{DB: "sqlite:steps.db", Listen: "127.0.0.1:0"}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	defer m.Close()
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	var line struct {
		Msg, DB, File string
	}
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"stepsd listening"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := filepath.Join(dir, "steps.db"); line.File != want || line.DB != "sqlite:steps.db" {
		t.Errorf("stepsd listening: db %q, file %q; want db sqlite:steps.db, file %q\n%s", line.DB, line.File, want, logs.String())
	}
}

// TestMigrateNumbersBeforeTheRollout: "stepsd migrate", run on its own
// before new replicas roll out (the Kubernetes Job), also numbers the
// history when the stored numbering is missing or follows other terminal
// statuses, so that serve then starts at once. It used to leave that to
// the first serve: at 100,000 steps on MariaDB migrate took 1.5 s and said
// "up to date", and the next start numbered for 18 s before it served.
func TestMigrateNumbersBeforeTheRollout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		dsn := fresh(t)
		m := startMain(t, Config{DB: dsn})
		for _, s := range []string{"build", "shipped"} {
			if status, body := httpDo(t, "POST", "http://"+m.Addr()+"/v1/steps?component=api&version=1&owner=ana&status="+s); status != http.StatusCreated {
				t.Fatalf("POST %s = %d %s", s, status, body)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			// prepare makes the stored numbering stale, as an upgrade does.
			prepare func(t *testing.T)
			args    []string
			rules   model.DeploymentRules
			outcome string
		}{
			{"AfterTheUpgradeThatStoresDeployments", func(t *testing.T) {
				// What the upgrade leaves, and what operations.md has an
				// operator do to number everything again.
				st := testdb.Open(t, dsn)
				defer st.Close()
				if _, err := st.DB().Exec(`DELETE FROM steps_numbering WHERE name = 'terminal_statuses'`); err != nil {
					t.Fatal(err)
				}
			}, nil, model.DeploymentRules{}, model.OutcomeInProgress},
			{"AfterTheTerminalStatusesChanged", func(*testing.T) {},
				[]string{"--success-statuses", "finished,shipped"}, model.DeploymentRules{SuccessStatuses: []string{"finished", "shipped"}}, model.OutcomeSuccess},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.prepare(t)
				var stdout, stderr bytes.Buffer
				if code := run(t.Context(), append([]string{"migrate", "--db", dsn}, c.args...), &stdout, &stderr); code != 0 {
					t.Fatalf("migrate = %d\n%s", code, stderr.String())
				}
				if !strings.Contains(stderr.String(), "numbered every deployment") {
					t.Errorf("migrate did not number the history:\n%s", stderr.String())
				}
				var logs testdb.LogBuffer // the sealing loop logs while the test reads
				m := &Main{Config: Config{DB: dsn, Listen: "127.0.0.1:0", Rules: c.rules}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
				defer m.Close()
				if err := m.Run(t.Context()); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(logs.String(), "numbering every deployment") {
					t.Errorf("serve numbered the history again after migrate:\n%s", grepLines(logs.String(), "numbering"))
				}
				status, body := httpDo(t, "GET", "http://"+m.Addr()+"/v1/deployments?format=json&component=api")
				var got struct{ Deployments []model.Deployment }
				if err := json.Unmarshal([]byte(body), &got); status != 200 || err != nil || len(got.Deployments) != 1 || got.Deployments[0].Outcome != c.outcome {
					t.Errorf("GET /v1/deployments = %d %s; want one deployment, %s", status, body, c.outcome)
				}
			})
		}
	})
}
