// Package heldstore holds a real store's batch writes (Store) or its reads
// of deployments for an analysis (Reads) until released, as they wait
// behind a busy writer (SQLite's single one) or a long analysis over a big
// history, so that tests of the server's and the client's handling of
// requests in progress can have many at once.
package heldstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// gate holds whoever waits on it until Release, counting them.
type gate struct {
	open    chan struct{}
	once    sync.Once
	entered atomic.Int32
}

// Release lets the held calls through (once; later calls do nothing).
func (g *gate) Release() { g.once.Do(func() { close(g.open) }) }

// Entered is how many calls have reached the store so far.
func (g *gate) Entered() int32 { return g.entered.Load() }

func (g *gate) wait(ctx context.Context) error {
	g.entered.Add(1)
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("held call: %w", ctx.Err())
	}
}

// WaitEntered waits until n calls are in the store, failing t after 20 s.
func (g *gate) WaitEntered(t testing.TB, n int32) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); g.entered.Load() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls reached the store, want %d", g.entered.Load(), n)
		}
	}
}

// Store is a real store whose batch writes wait until Release.
type Store struct {
	server.Store
	gate
}

// New holds the batch writes of st.
func New(st server.Store) *Store {
	return &Store{Store: st, gate: gate{open: make(chan struct{})}}
}

// Reads is a real store whose reads of deployments for an analysis
// (stats, DORA, changes) wait until Release.
type Reads struct {
	server.Store
	gate
}

// NewReads holds the analyses' reads of st.
func NewReads(st server.Store) *Reads {
	return &Reads{Store: st, gate: gate{open: make(chan struct{})}}
}

// EachDeploymentPassing waits for Release, then reads.
func (h *Reads) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	if err := h.wait(ctx); err != nil {
		return err
	}
	return h.Store.EachDeploymentPassing(ctx, f, rules, now, fn)
}

// CreateSteps waits for Release, then writes.
func (h *Store) CreateSteps(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) ([]model.Step, bool, error) {
	if err := h.wait(ctx); err != nil {
		return nil, false, err
	}
	return h.Store.CreateSteps(ctx, ins, meta)
}

// CreateStepsDeduped waits for Release, then writes.
func (h *Store) CreateStepsDeduped(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) ([]model.Step, []int, error) {
	if err := h.wait(ctx); err != nil {
		return nil, nil, err
	}
	return h.Store.CreateStepsDeduped(ctx, ins, meta)
}
