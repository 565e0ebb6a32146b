// Package heldstore holds a real store's batch writes until released, as
// they wait behind a busy writer (SQLite's single one), so that tests of
// the server's and the client's handling of writes in progress can have
// many at once.
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

// Store is a real store whose batch writes wait until Release.
type Store struct {
	server.Store
	open    chan struct{}
	once    sync.Once
	entered atomic.Int32
}

// New holds the batch writes of st.
func New(st server.Store) *Store {
	return &Store{Store: st, open: make(chan struct{})}
}

// Release lets the held batches through (once; later calls do nothing).
func (h *Store) Release() { h.once.Do(func() { close(h.open) }) }

// Entered is how many batches have reached the store so far.
func (h *Store) Entered() int32 { return h.entered.Load() }

func (h *Store) wait(ctx context.Context) error {
	h.entered.Add(1)
	select {
	case <-h.open:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("held batch: %w", ctx.Err())
	}
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

// WaitEntered waits until n batches are in the store, failing t after 20 s.
func (h *Store) WaitEntered(t testing.TB, n int32) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); h.entered.Load() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d batches reached the store, want %d", h.entered.Load(), n)
		}
	}
}
