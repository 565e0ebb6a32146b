// Run these tests with:
//
//	cd deploy && go test ./...
//
// deploy/ is a Go module of its own (the Kubernetes API types stay out of the
// main module), so `go test ./...` at the repository root does not run them.

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// imageRepo is the stepsd image's repository in every manifest and doc.
const imageRepo = "ghcr.io/steps-dev/stepsd"

// Paths of the rest of the repository, relative to deploy/.
const (
	stepsdDir         = "../cmd/stepsd"
	openAPIFile       = "../api/openapi.yaml"
	metricsFile       = "../pkg/server/metrics.go"
	tracesMetricsFile = "../pkg/traces/traces.go"
	dockerfile        = "../Dockerfile"
	storeFile         = "../pkg/store/store.go"
)

// stepsdFacts is what the stepsd source says about the settings and routes
// the deployment artifacts rely on.
type stepsdFacts struct {
	// source is every non-test Go file of cmd/stepsd, concatenated.
	source string
	// flags are the names of the flags stepsd defines.
	flags map[string]bool
	// settings are the flags of stepsd's settings table, each bound to
	// STEPSD_ and its name in capitals by one rule (setting.env).
	settings map[string]bool
	// listenPort is the port of the --listen default.
	listenPort int
	// paths are the paths of api/openapi.yaml.
	paths map[string]bool
}

var (
	// A flag is declared by pflag directly, or as an entry of stepsd's
	// settings table: field("name", "key", default, …) or flag: "name".
	flagRE    = regexp.MustCompile(`\.(?:String|StringSlice|StringArray|Int|Int64|Float64|Duration|Bool)(?:Var)?(?:P)?\(\s*(?:&\w+,\s*)?"([a-z][a-z0-9-]*)"`)
	settingRE = regexp.MustCompile(`(?:\bfield\(\s*|\bflag:\s*)"([a-z][a-z0-9-]*)"`)
	listenRE  = regexp.MustCompile(`field\(\s*"listen",\s*"listen",\s*"([^"]*)"`)
	getenvRE  = regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("(STEPSD_[A-Z0-9_]+)"\)`)
)

// loadStepsd reads the facts from the stepsd source and the OpenAPI document.
func loadStepsd(t *testing.T) stepsdFacts {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(stepsdDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (err %v): the test runs from deploy/", stepsdDir, err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src.WriteString(mustRead(t, f))
		src.WriteString("\n")
	}
	facts := stepsdFacts{source: src.String(), flags: map[string]bool{}, settings: map[string]bool{}, paths: map[string]bool{}}
	for _, m := range flagRE.FindAllStringSubmatch(facts.source, -1) {
		facts.flags[m[1]] = true
	}
	for _, m := range settingRE.FindAllStringSubmatch(facts.source, -1) {
		facts.flags[m[1]] = true
		facts.settings[m[1]] = true
	}
	if !facts.flags["listen"] || !facts.flags["db"] || !facts.flags["tokens"] {
		t.Fatalf("found flags %v in %s; want at least listen, db and tokens", sortedKeys(facts.flags), stepsdDir)
	}

	m := listenRE.FindStringSubmatch(facts.source)
	if m == nil {
		t.Fatalf(`no "listen" flag default in %s`, stepsdDir)
	}
	_, port, ok := strings.Cut(m[1], ":")
	if facts.listenPort, err = strconv.Atoi(port); !ok || err != nil {
		t.Fatalf("--listen default %q has no port", m[1])
	}

	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal([]byte(mustRead(t, openAPIFile)), &doc); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	for p := range doc.Paths {
		facts.paths[p] = true
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if !facts.paths[p] {
			t.Fatalf("%s has no path %s; the probes and scrape config use it", openAPIFile, p)
		}
	}
	return facts
}

// checkEnv reports whether stepsd reads the environment variable name: it is
// bound from one of the flags of its settings table (STEPSD_ + the flag name
// in upper case, - as _), or read directly and its source names it.
func (f stepsdFacts) checkEnv(t *testing.T, where, name string) {
	t.Helper()
	if !strings.HasPrefix(name, "STEPSD_") {
		t.Errorf("%s sets %s: stepsd reads only STEPSD_* variables", where, name)
		return
	}
	flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "STEPSD_"), "_", "-"))
	if f.settings[flag] {
		return
	}
	if !strings.Contains(f.source, name) {
		t.Errorf("%s sets %s, which %s never mentions", where, name, stepsdDir)
	}
	for _, m := range getenvRE.FindAllStringSubmatch(f.source, -1) {
		if m[1] == name {
			return
		}
	}
	t.Errorf("%s sets %s, but stepsd has no --%s setting and does not read it directly", where, name, flag)
}

// checkTokens checks an example STEPSD_TOKENS value against stepsd's rules:
// comma-separated SCOPE:TOKEN, scopes read and write, tokens 8+ characters.
func checkTokens(t *testing.T, where, list string) {
	t.Helper()
	n := 0
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		n++
		scope, secret, ok := strings.Cut(item, ":")
		if !ok || (scope != "read" && scope != "write") || len(secret) < 8 {
			t.Errorf("%s: token %d is not SCOPE:TOKEN with scope read or write and 8+ characters", where, n)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// splitImage splits an image reference into repository and tag.
func splitImage(image string) (repo, tag string) {
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		return image[:i], image[i+1:]
	}
	return image, ""
}

func TestStepsdFacts(t *testing.T) {
	f := loadStepsd(t)
	if f.listenPort != 8080 {
		t.Errorf("--listen default port: got %d, want 8080 (the manifests, Compose file, Dockerfile and docs say 8080)", f.listenPort)
	}
	for _, name := range []string{"STEPSD_LISTEN", "STEPSD_DB", "STEPSD_TOKENS", "STEPSD_CONFIG", "STEPSD_LOG_LEVEL", "STEPSD_SHUTDOWN_TIMEOUT"} {
		f.checkEnv(t, "the test's own list", name)
	}
	for _, cmd := range []string{"healthcheck", "migrate", "serve", "version"} {
		if !regexp.MustCompile(`Use:\s+"` + cmd + `"`).MatchString(f.source) {
			t.Errorf("stepsd has no %q command; the image, Compose file or manifests run it", cmd)
		}
	}
	if !f.flags["path"] {
		t.Errorf("stepsd healthcheck has no --path flag; the Compose file asks for /readyz with it")
	}
	if !strings.Contains(f.source, "var version") {
		t.Errorf("stepsd has no main.version for -ldflags -X main.version=…")
	}
}
