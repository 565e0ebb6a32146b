package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

func TestWebhookSecretsAreHiddenInConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stepsd.yaml")
	if err := os.WriteFile(file, []byte("hooks:\n  gitlab:\n    token: gl-file-token-99\n  mapping: /etc/steps/hooks.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STEPSD_GITHUB_WEBHOOK_SECRET", "gh-env-secret-42")
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"config", "--config", file}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := stdout.String()
	for _, want := range []string{"#     secret: \"***\"  (hidden: set it with STEPSD_GITHUB_WEBHOOK_SECRET)",
		"#     token: \"***\"  (hidden: set it with STEPSD_GITLAB_WEBHOOK_TOKEN)", "mapping: /etc/steps/hooks.yaml"} {
		if !strings.Contains(out, want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "gh-env-secret") || strings.Contains(out, "gl-file-token") {
		t.Errorf("config printed a webhook secret:\n%s", out)
	}
}

// TestGitHubHookThroughTheDaemon: the secret set the way operators set it
// (env) turns the route on, and a signed delivery records steps.
func TestGitHubHookThroughTheDaemon(t *testing.T) {
	mapping := filepath.Join(t.TempDir(), "hooks.yaml")
	if err := os.WriteFile(mapping, []byte("environments:\n  Deploy: production\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startMain(t, Config{DB: testdb.SQLite(t), GitHubSecret: "daemon-secret", HooksMapping: mapping, Tokens: "write:write-token-1"})
	defer m.Close()
	body, err := os.ReadFile("../../pkg/server/testdata/hooks/github/deployment_status_success.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://"+m.Addr()+"/v1/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "deployment_status")
	req.Header.Set("X-Hub-Signature-256", hooks.SignGitHub("daemon-secret", body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || !strings.Contains(string(b), `"environment":"production"`) {
		t.Errorf("POST /v1/hooks/github = %d %s", res.StatusCode, b)
	}

	bad := &Main{Config: Config{DB: testdb.SQLite(t), HooksMapping: filepath.Join(t.TempDir(), "missing.yaml"), Listen: "127.0.0.1:0"}, Logger: discard()}
	defer bad.Close()
	if err := bad.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "--hooks-mapping") {
		t.Errorf("a missing mapping file: Run = %v, want an error naming --hooks-mapping", err)
	}
}

func TestOTLPEndpointFromTheStandardVariable(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.monitoring:4318")
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"config"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "otlp:\n  endpoint: http://collector.monitoring:4318\n") {
		t.Errorf("config did not take OTEL_EXPORTER_OTLP_ENDPOINT:\n%s", stdout.String())
	}
	// STEPSD_OTLP_ENDPOINT wins over the standard variable, as --help says.
	t.Setenv("STEPSD_OTLP_ENDPOINT", "http://steps-collector:4318")
	stdout.Reset()
	if code := run(context.Background(), []string{"config"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "otlp:\n  endpoint: http://steps-collector:4318\n") {
		t.Errorf("config did not prefer STEPSD_OTLP_ENDPOINT:\n%s", stdout.String())
	}
	stdout.Reset()
	run(context.Background(), []string{"--help"}, &stdout, io.Discard)
	if !strings.Contains(stdout.String(), "(env STEPSD_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT)") {
		t.Errorf("--help does not say which variable wins:\n%s", grepLines(stdout.String(), "otlp"))
	}
	m := &Main{Config: Config{DB: testdb.SQLite(t), OTLPEndpoint: "collector:4318", Listen: "127.0.0.1:0"}, Logger: discard()}
	defer m.Close()
	if err := m.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
		t.Errorf("an endpoint without a scheme: Run = %v, want an error naming --otlp-endpoint", err)
	}
}

// TestOTLPTracesEndpointFromTheStandardVariable: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is read, alone or beside OTEL_EXPORTER_OTLP_ENDPOINT, and a stepsd with
// only it set exports to it as it is. Set alone, it exported nothing.
func TestOTLPTracesEndpointFromTheStandardVariable(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.monitoring:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo.monitoring:4318/v1/traces")
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"config"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "traces_endpoint: http://tempo.monitoring:4318/v1/traces\n") {
		t.Errorf("config did not take OTEL_EXPORTER_OTLP_TRACES_ENDPOINT:\n%s", stdout.String())
	}

	var got atomic.Int64
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tempo/traces" {
			got.Add(1)
		}
	}))
	defer otlp.Close()
	var logs testdb.LogBuffer
	m := &Main{Config: Config{DB: testdb.SQLite(t), Listen: "127.0.0.1:0", OTLPTracesEndpoint: otlp.URL + "/tempo/traces"},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	for _, status := range []string{"build", "finished"} {
		res, err := http.Post("http://"+m.Addr()+"/v1/steps?component=api&version=1&owner=ana&status="+status, "", nil)
		if err != nil {
			m.Close()
			t.Fatal(err)
		}
		res.Body.Close()
	}
	m.Close()
	if got.Load() == 0 {
		t.Errorf("nothing was posted to the traces endpoint; logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"otlp_endpoint":"`+otlp.URL+`/tempo/traces"`) {
		t.Errorf("the start-up log does not name the traces endpoint:\n%s", logs.String())
	}
}

// TestHookEndsNotTerminalWarn: with a webhook on, stepsd warns at start-up
// of the statuses its records end deployments with (cancelled, timed-out)
// that the configured rules do not count as terminal; such deployments
// would stay in progress for good. The defaults count them all.
func TestHookEndsNotTerminalWarn(t *testing.T) {
	const msg = `"msg":"webhook records end deployments with statuses the deployment rules do not count as terminal`
	for _, tt := range []struct {
		name    string
		rules   model.DeploymentRules
		warning string
	}{
		{"Defaults", model.DeploymentRules{}, ""},
		{"OwnFailures", model.DeploymentRules{FailureStatuses: []string{"failed", "rolled-back"}}, `"statuses":"cancelled,timed-out"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs testdb.LogBuffer
			m := &Main{Config: Config{Listen: "127.0.0.1:0", DB: testdb.SQLite(t), GitHubSecret: "daemon-secret", Rules: tt.rules},
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			if err := m.Run(t.Context()); err != nil {
				m.Close()
				t.Fatalf("Run: %v", err)
			}
			m.Close()
			got := logs.String()
			switch {
			case tt.warning == "" && strings.Contains(got, msg):
				t.Errorf("a warning with the default rules:\n%s", got)
			case tt.warning != "" && (!strings.Contains(got, msg) || !strings.Contains(got, tt.warning)):
				t.Errorf("no warning naming %s:\n%s", tt.warning, got)
			}
		})
	}
}
