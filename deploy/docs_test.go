// Run these tests with:
//
//	cd deploy && go test ./...

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const testCommand = "cd deploy && go test ./..."

var (
	mdLinkRE     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	metricNameRE = regexp.MustCompile(`Name:\s+"([a-z_]+)"`)
	metricDocRE  = regexp.MustCompile("`(steps_[a-z_]+)")
)

// The operating guide's pages that go with these artifacts.
var guide = []string{"../docs/docker.md", "../docs/kubernetes.md", "../docs/operations.md"}

func TestDocsLinksResolve(t *testing.T) {
	for _, page := range guide {
		for _, m := range mdLinkRE.FindAllStringSubmatch(mustRead(t, page), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			path := filepath.Join(filepath.Dir(page), target)
			if !fileExists(path) && !dirExists(path) {
				t.Errorf("%s links to %s, which does not exist", page, m[1])
			}
		}
	}
}

func TestDocsMatchTheArtifacts(t *testing.T) {
	docker := mustRead(t, "../docs/docker.md")
	kube := mustRead(t, "../docs/kubernetes.md")
	ops := mustRead(t, "../docs/operations.md")
	for page, text := range map[string]string{"docs/docker.md": docker, "docs/kubernetes.md": kube} {
		if !strings.Contains(text, imageRepo) {
			t.Errorf("%s does not name the image %s", page, imageRepo)
		}
	}
	for page, text := range map[string]string{"docs/kubernetes.md": kube, "docs/operations.md": ops} {
		if !strings.Contains(text, testCommand) {
			t.Errorf("%s does not give the manifest test's command %q", page, testCommand)
		}
	}
	c := loadCluster(t)
	for _, res := range c.kust.Resources {
		if !strings.Contains(kube, res) {
			t.Errorf("docs/kubernetes.md does not mention %s", res)
		}
	}
	if !strings.Contains(kube, "kubectl apply") || !strings.Contains(kube, "-k deploy/kubernetes") {
		t.Errorf("docs/kubernetes.md does not show kubectl apply -k deploy/kubernetes")
	}
	if !strings.Contains(docker, "docker compose -f deploy/docker-compose.yml up") {
		t.Errorf("docs/docker.md does not show docker compose -f deploy/docker-compose.yml up")
	}
}

func TestDocsListTheMetrics(t *testing.T) {
	// stepsd's metrics are registered in pkg/server, and those of the
	// OpenTelemetry export in pkg/traces.
	src := mustRead(t, metricsFile) + mustRead(t, tracesMetricsFile)
	ops := mustRead(t, "../docs/operations.md")
	served := map[string]bool{}
	for _, m := range metricNameRE.FindAllStringSubmatch(src, -1) {
		served[m[1]] = true
		if !strings.Contains(ops, m[1]) {
			t.Errorf("docs/operations.md does not list the metric %s (%s)", m[1], metricsFile)
		}
	}
	if len(served) == 0 {
		t.Fatalf("no metric names found in %s", metricsFile)
	}
	for _, m := range metricDocRE.FindAllStringSubmatch(ops, -1) {
		if !served[m[1]] {
			t.Errorf("docs/operations.md lists %s, which %s and %s do not define", m[1], metricsFile, tracesMetricsFile)
		}
	}
	if strings.Contains(src, `NewDBStatsCollector(`) && !strings.Contains(ops, "go_sql_") {
		t.Errorf("docs/operations.md does not list the go_sql_* pool metrics")
	}
}

func dirExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
