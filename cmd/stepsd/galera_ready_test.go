package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestGaleraReadyzWhileNodeDesynced desyncs the node of one stepsd, as a
// donor, a backup or FLUSH TABLES WITH READ LOCK does. Such a node answers
// queries but stops applying the others' writes: reads through it miss
// steps other replicas acknowledged, and its writes can wait as long as it
// stays so. docs/mysql.md promises that /readyz fails on a node not
// Synced, so that a load balancer sends clients elsewhere; it answered 200.
func TestGaleraReadyzWhileNodeDesynced(t *testing.T) {
	dsns := testdb.Galera(t)
	node := dsns[len(dsns)-1]
	admin := testdb.Admin(t, node)
	ctx := t.Context()

	m := &Main{Config: Config{DB: node, Listen: "127.0.0.1:0", RateLimit: -1}, Logger: slog.New(slog.DiscardHandler)}
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("stepsd: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	readyz := func() int {
		t.Helper()
		resp, err := http.Get("http://" + m.Addr() + "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitReadyz polls, since the node changes state a moment after the SET.
	waitReadyz := func(want int, what string) {
		t.Helper()
		got := 0
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = readyz(); got == want {
				return
			}
		}
		t.Fatalf("%s: /readyz answered %d for 10 s, want %d", what, got, want)
	}
	setDesync := func(on string) {
		t.Helper()
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), "SET GLOBAL wsrep_desync="+on); err != nil {
			t.Fatalf("wsrep_desync=%s: %v", on, err)
		}
	}

	waitReadyz(http.StatusOK, "node Synced")
	setDesync("ON")
	t.Cleanup(func() { setDesync("OFF") })
	waitReadyz(http.StatusServiceUnavailable, "node Donor/Desynced")
	setDesync("OFF")
	waitReadyz(http.StatusOK, "node Synced again")
}
