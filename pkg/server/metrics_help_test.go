package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

// TestRateLimitedClientsHelpStatesItsBound: the help of
// steps_rate_limited_clients gives the bound a Prometheus user alerts
// against, as a number. It said "bounded by the rate-clients setting",
// which stepsd has no flag, variable or key for.
func TestRateLimitedClientsHelpStatesItsBound(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	var help string
	for line := range strings.Lines(metricsBody(t, ts.URL)) {
		if h, ok := strings.CutPrefix(line, "# HELP steps_rate_limited_clients "); ok {
			help = strings.TrimSpace(h)
		}
	}
	if help == "" {
		t.Fatal("no HELP for steps_rate_limited_clients in /metrics")
	}
	if want := strconv.Itoa(server.DefaultRateClients); !strings.Contains(help, want) {
		t.Errorf("help = %q; want the bound %s in it", help, want)
	}
	if strings.Contains(help, "setting") {
		t.Errorf("help = %q; names a setting, and stepsd has none for this bound", help)
	}
}
