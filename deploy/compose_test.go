// Run these tests with:
//
//	cd deploy && go test ./...

package deploy

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

const (
	composeFile = "docker-compose.yml"
	envExample  = ".env.example"
)

// loadCompose loads the Compose file as `docker compose` does — schema
// validation, interpolation of ${VAR:-default} with env, path resolution —
// and fails on anything it rejects.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, composeFile), Content: []byte(mustRead(t, composeFile))}},
		Environment: env,
	}
	p, err := loader.LoadWithContext(context.Background(), details)
	if err != nil {
		t.Fatalf("%s does not load as docker compose would: %v", composeFile, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return s
}

func TestComposeLoadsWithDefaults(t *testing.T) {
	// No variable set: `docker compose up` must work as it is.
	p := loadCompose(t, map[string]string{})
	if p.Name != "steps" {
		t.Errorf("project name %q; want steps (names the volume steps_mysql-data)", p.Name)
	}
	if got := sortedKeys(p.Services); !slices.Equal(got, []string{"mysql", "stepsd"}) {
		t.Errorf("services %v; want mysql and stepsd", got)
	}
	if _, ok := p.Volumes["mysql-data"]; !ok {
		t.Errorf("no named volume mysql-data")
	}
}

func TestComposeStepsd(t *testing.T) {
	facts := loadStepsd(t)
	p := loadCompose(t, map[string]string{})
	s := service(t, p, "stepsd")

	if repo, tag := splitImage(s.Image); repo != imageRepo || tag == "" {
		t.Errorf("stepsd image %q; want %s:TAG", s.Image, imageRepo)
	}
	if s.Build == nil {
		t.Fatal("stepsd has no build: `docker compose up` could not build the image from this checkout")
	}
	if df := filepath.Join(s.Build.Context, s.Build.Dockerfile); !fileExists(df) {
		t.Errorf("stepsd build: %s does not exist", df)
	}
	if v := s.Build.Args["VERSION"]; v == nil || *v == "" {
		t.Errorf("stepsd build: no VERSION argument for -X main.version")
	}

	for name, v := range s.Environment {
		facts.checkEnv(t, composeFile+" stepsd", name)
		if v == nil {
			t.Errorf("%s stepsd: %s has no value", composeFile, name)
		}
	}
	listen := s.Environment["STEPSD_LISTEN"]
	if listen == nil || !strings.HasSuffix(*listen, ":"+strconv.Itoa(facts.listenPort)) {
		t.Errorf("stepsd STEPSD_LISTEN: want :%d", facts.listenPort)
	}
	var published bool
	for _, port := range s.Ports {
		if int(port.Target) != facts.listenPort {
			t.Errorf("stepsd publishes container port %d; stepsd listens on %d", port.Target, facts.listenPort)
		}
		// The README's curl examples use localhost:8080.
		published = published || port.Published == "8080"
	}
	if !published {
		t.Errorf("stepsd: port 8080 is not published: the README's curl examples use localhost:8080")
	}

	// The database: the mysql service, as the user it creates.
	dbv := s.Environment["STEPSD_DB"]
	if dbv == nil {
		t.Fatal("stepsd: no STEPSD_DB")
	}
	dsn, err := url.Parse(*dbv)
	if err != nil || dsn.Scheme != "mysql" {
		t.Fatalf("stepsd: STEPSD_DB is not a mysql:// DSN")
	}
	mysql := service(t, p, "mysql")
	pass, _ := dsn.User.Password()
	for key, want := range map[string]string{
		"MYSQL_USER":     dsn.User.Username(),
		"MYSQL_PASSWORD": pass,
		"MYSQL_DATABASE": strings.Trim(dsn.Path, "/"),
	} {
		if got := mysql.Environment[key]; got == nil || *got != want {
			t.Errorf("mysql %s does not match stepsd's STEPSD_DB", key)
		}
	}
	if dsn.Hostname() != "mysql" || (dsn.Port() != "" && dsn.Port() != "3306") {
		t.Errorf("STEPSD_DB host %q: want mysql:3306, the mysql service", dsn.Host)
	}
	if dep, ok := s.DependsOn["mysql"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("stepsd must depend on mysql with condition service_healthy")
	}

	// Health: stepsd asks itself (no shell in the image).
	hc := s.HealthCheck
	if hc == nil || len(hc.Test) < 3 || hc.Test[0] != "CMD" || filepath.Base(hc.Test[1]) != "stepsd" || hc.Test[2] != "healthcheck" {
		t.Errorf("stepsd healthcheck: want [CMD, …/stepsd, healthcheck, …] (exec form: the image has no shell)")
	} else if i := slices.Index(hc.Test, "--path"); i >= 0 && (i+1 >= len(hc.Test) || !facts.paths[hc.Test[i+1]]) {
		t.Errorf("stepsd healthcheck: --path is not a path of %s", openAPIFile)
	}

	if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("stepsd: want read_only, cap_drop [ALL] and no-new-privileges")
	}
	// A read-only root still needs a writable /tmp, as the Kubernetes
	// Deployment's emptyDir gives: `stepsctl import -` run in the container
	// copies its standard input there, and failed with "read-only file system".
	if !slices.ContainsFunc(s.Tmpfs, func(m string) bool { return strings.SplitN(m, ":", 2)[0] == "/tmp" }) {
		t.Errorf("stepsd: read_only without a tmpfs on /tmp: `stepsctl import -` in the container cannot write its copy of stdin")
	}
	shutdown := 30 * time.Second
	if v := s.Environment["STEPSD_SHUTDOWN_TIMEOUT"]; v != nil {
		if shutdown, err = time.ParseDuration(*v); err != nil {
			t.Errorf("stepsd STEPSD_SHUTDOWN_TIMEOUT: %v", err)
		}
	}
	if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= shutdown {
		t.Errorf("stepsd stop_grace_period must exceed the shutdown timeout %s, or requests in flight are cut", shutdown)
	}
}

func TestComposeMySQL(t *testing.T) {
	p := loadCompose(t, map[string]string{})
	s := service(t, p, "mysql")
	if repo, tag := splitImage(s.Image); repo != "mysql" || !strings.HasPrefix(tag, "8") {
		t.Errorf("mysql image %q; want mysql:8.x", s.Image)
	}
	hc := s.HealthCheck
	if hc == nil || !strings.Contains(strings.Join(hc.Test, " "), "mysqladmin ping") {
		t.Errorf("mysql healthcheck: want mysqladmin ping")
	}
	var data bool
	for _, v := range s.Volumes {
		data = data || (v.Type == types.VolumeTypeVolume && v.Source == "mysql-data" && v.Target == "/var/lib/mysql")
	}
	if !data {
		t.Errorf("mysql: the named volume mysql-data is not mounted at /var/lib/mysql")
	}
	if len(s.Ports) > 0 {
		t.Errorf("mysql publishes a port: keep it on the Compose network")
	}
	for _, key := range []string{"MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"} {
		if v := s.Environment[key]; v == nil || *v == "" {
			t.Errorf("mysql: %s is empty", key)
		}
	}
}

func TestComposeSettingsFromEnvironment(t *testing.T) {
	// Tokens, passwords, port and image come from the environment.
	p := loadCompose(t, map[string]string{
		"STEPSD_TOKENS":        "write:ci-secret-123,read:dashboard-secret",
		"STEPS_MYSQL_PASSWORD": "s3cret-from-env",
		"STEPS_PORT":           "0.0.0.0:18080",
		"STEPS_IMAGE":          "registry.example.com/stepsd:1.4.0",
	})
	s := service(t, p, "stepsd")
	if v := s.Environment["STEPSD_TOKENS"]; v == nil || *v != "write:ci-secret-123,read:dashboard-secret" {
		t.Errorf("STEPSD_TOKENS from the environment did not reach stepsd")
	} else {
		checkTokens(t, "STEPSD_TOKENS", *v)
	}
	if v := s.Environment["STEPSD_DB"]; v == nil || !strings.Contains(*v, ":s3cret-from-env@") {
		t.Errorf("STEPS_MYSQL_PASSWORD did not reach STEPSD_DB")
	}
	if v := service(t, p, "mysql").Environment["MYSQL_PASSWORD"]; v == nil || *v != "s3cret-from-env" {
		t.Errorf("STEPS_MYSQL_PASSWORD did not reach mysql")
	}
	if len(s.Ports) != 1 || s.Ports[0].HostIP != "0.0.0.0" || s.Ports[0].Published != "18080" {
		t.Errorf("STEPS_PORT did not set the published address: %+v", s.Ports)
	}
	if s.Image != "registry.example.com/stepsd:1.4.0" {
		t.Errorf("STEPS_IMAGE did not set the image")
	}

	// With no variable set the API is published on this machine only.
	s = service(t, loadCompose(t, map[string]string{}), "stepsd")
	if len(s.Ports) != 1 || s.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("by default stepsd (open, without tokens) must be published on 127.0.0.1 only: %+v", s.Ports)
	}
}

var interpolationRE = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`)

func TestComposeVariablesAreDocumented(t *testing.T) {
	raw := mustRead(t, composeFile)
	// The file parses as plain YAML too, and each service's environment is
	// a map (one place per name).
	var doc struct {
		Services map[string]struct {
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	if len(doc.Services["stepsd"].Environment) == 0 {
		t.Errorf("%s: stepsd's environment is not a map", composeFile)
	}

	header, body := splitHeader(raw)
	example := mustRead(t, envExample)
	docs := mustRead(t, "../docs/docker.md")
	vars := map[string]bool{}
	for _, m := range interpolationRE.FindAllStringSubmatch(body, -1) {
		vars[m[1]] = true
	}
	for _, name := range sortedKeys(vars) {
		if !strings.Contains(header, name) {
			t.Errorf("%s uses ${%s} but its header comment does not explain it", composeFile, name)
		}
		if !regexp.MustCompile(`(?m)^` + name + `=`).MatchString(example) {
			t.Errorf("%s uses ${%s} but %s does not set it", composeFile, name, envExample)
		}
		if !strings.Contains(docs, name) {
			t.Errorf("%s uses ${%s} but docs/docker.md does not mention it", composeFile, name)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)=`).FindAllStringSubmatch(example, -1) {
		if !vars[m[1]] {
			t.Errorf("%s sets %s, which %s does not use", envExample, m[1], composeFile)
		}
	}
	// The example values are usable: the example's tokens pass stepsd's rules.
	if m := regexp.MustCompile(`(?m)^STEPSD_TOKENS=(.*)$`).FindStringSubmatch(example); m != nil {
		checkTokens(t, envExample+" STEPSD_TOKENS", m[1])
	}
}

// splitHeader splits a YAML file into its leading comment block and the rest.
func splitHeader(s string) (header, body string) {
	lines := strings.SplitAfter(s, "\n")
	i := 0
	for i < len(lines) && (strings.HasPrefix(lines[i], "#") || strings.TrimSpace(lines[i]) == "") {
		i++
	}
	return strings.Join(lines[:i], ""), strings.Join(lines[i:], "")
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
