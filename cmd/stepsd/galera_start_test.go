package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestGaleraStartWhileNodeOutOfQuorum starts a stepsd on a Galera node cut
// off from the others. Such a node accepts connections and pings, but
// refuses every query with error 1047 until it rejoins; stepsd used to open
// it, fail its first migration statement and exit 1 at once, where
// --wait-for-db promises a wait. It must wait, and serve once the node is
// back in the quorum.
func TestGaleraStartWhileNodeOutOfQuorum(t *testing.T) {
	dsns := testdb.Galera(t)
	node := dsns[len(dsns)-1]
	admin := testdb.Admin(t, node)
	ctx := t.Context()

	setIsolated := func(on bool) {
		t.Helper()
		v := "0"
		if on {
			v = "1"
		}
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), "SET GLOBAL wsrep_provider_options='gmcast.isolate="+v+"'"); err != nil {
			t.Fatalf("gmcast.isolate=%s: %v", v, err)
		}
	}
	waitStatus := func(name, want string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var n string
			if err := admin.QueryRowContext(context.WithoutCancel(ctx), "SHOW STATUS LIKE '"+name+"'").Scan(&n, &got); err == nil && got == want {
				return
			}
		}
		t.Fatalf("%s stayed %q, not %q, for 60 s", name, got, want)
	}
	setIsolated(true)
	t.Cleanup(func() {
		setIsolated(false)
		waitStatus("wsrep_local_state_comment", "Synced")
	})
	waitStatus("wsrep_ready", "OFF")

	var logs testdb.LogBuffer
	m := &Main{
		Config: Config{DB: node, Listen: "127.0.0.1:0", RateLimit: -1, WaitForDB: time.Minute},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	t.Cleanup(func() { m.Close() })
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("stepsd gave up at once on a node out of the quorum, rather than wait --wait-for-db: %v", err)
	case <-time.After(3 * time.Second):
	}
	if !strings.Contains(logs.String(), "waiting for it") {
		t.Errorf("no line says that stepsd waits for its database; logs:\n%s", logs.String())
	}
	setIsolated(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stepsd did not start once its node rejoined: %v", err)
		}
	case <-time.After(50 * time.Second):
		t.Fatal("stepsd still not serving 50 s after its node rejoined")
	}
}
