package server

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// waitersOf is how many wait at g, and how many clients have an entry.
func (g *fairGate) waitersOf() (waiters, clients, turns int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiters, len(g.clients), g.turns.Len()
}

// queue starts a waiter for key at g once the waiters before it are in
// line, and sends name on granted when it holds a slot, or its error on
// failed.
func queue(t *testing.T, g *fairGate, ctx context.Context, key, name string, granted chan<- string, failed chan<- error) {
	t.Helper()
	before, _, _ := g.waitersOf()
	go func() {
		if err := g.acquire(ctx, key); err != nil {
			failed <- err
			return
		}
		granted <- name
	}()
	waitFor(t, name+" in line", func() bool { w, _, _ := g.waitersOf(); return w == before+1 })
}

func nextGranted(t *testing.T, granted <-chan string) string {
	t.Helper()
	select {
	case name := <-granted:
		return name
	case <-time.After(20 * time.Second):
		t.Fatal("nothing granted in 20 s")
		return ""
	}
}

// assertEmpty checks that no slot is held and no client is remembered.
func assertEmpty(t *testing.T, g *fairGate) {
	t.Helper()
	if w, c, n := g.waitersOf(); w != 0 || c != 0 || n != 0 {
		t.Errorf("%d waiters, %d clients and %d turns left, want none", w, c, n)
	}
	if !g.tryAcquire() {
		t.Fatal("no slot free once all have left: a slot leaked")
	}
	g.release()
}

// Waiters are granted in turn by client, first come first served within
// one: a client with three queued does not keep two others waiting behind
// all three. First come first served would grant a1 a2 a3 b1 b2 c1.
func TestFairGateGrantsInTurnByClient(t *testing.T) {
	g := newFairGate(1)
	if !g.tryAcquire() {
		t.Fatal("the first slot is not free")
	}
	granted, failed := make(chan string, 8), make(chan error, 8)
	ctx := context.Background()
	for _, w := range [][2]string{{"A", "a1"}, {"A", "a2"}, {"A", "a3"}, {"B", "b1"}, {"B", "b2"}, {"C", "c1"}} {
		queue(t, g, ctx, w[0], w[1], granted, failed)
	}
	if g.tryAcquire() {
		t.Fatal("tryAcquire took a slot while others wait")
	}
	var got []string
	for range 6 {
		g.release()
		got = append(got, nextGranted(t, granted))
	}
	g.release()
	want := []string{"a1", "b1", "c1", "a2", "b2", "a3"}
	if !slices.Equal(got, want) {
		t.Errorf("granted %v, want %v", got, want)
	}
	assertEmpty(t, g)
}

// A waiter that gives up leaves the line, its slot untaken: the one at the
// head of its client's line gives its client's place to the next of the
// same client, and a client whose only waiter gives up is forgotten.
func TestFairGateCancelledWaiterLeavesTheLine(t *testing.T) {
	g := newFairGate(1)
	if !g.tryAcquire() {
		t.Fatal("the first slot is not free")
	}
	granted, failed := make(chan string, 8), make(chan error, 8)
	head, cancelHead := context.WithCancel(context.Background())
	alone, cancelAlone := context.WithCancel(context.Background())
	ctx := context.Background()
	queue(t, g, head, "A", "a1", granted, failed)
	queue(t, g, ctx, "B", "b1", granted, failed)
	queue(t, g, ctx, "A", "a2", granted, failed)
	queue(t, g, alone, "C", "c1", granted, failed)

	cancelHead()
	cancelAlone()
	for range 2 {
		select {
		case err := <-failed:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("a cancelled waiter returned %v, want context.Canceled", err)
			}
		case name := <-granted:
			t.Fatalf("%s granted while the slot is held", name)
		case <-time.After(20 * time.Second):
			t.Fatal("a cancelled waiter did not return in 20 s")
		}
	}
	if w, c, _ := g.waitersOf(); w != 2 || c != 2 {
		t.Fatalf("after two gave up: %d waiters and %d clients, want 2 and 2 (C forgotten)", w, c)
	}
	var got []string
	for range 2 {
		g.release()
		got = append(got, nextGranted(t, granted))
	}
	g.release()
	if want := []string{"a2", "b1"}; !slices.Equal(got, want) {
		t.Errorf("granted %v, want %v", got, want)
	}
	assertEmpty(t, g)
}

// A waiter whose wait ends as it is granted either holds the slot (and
// gives it back) or passes it on to the next in turn: no slot is lost,
// and the next waiter is served. Run with -race.
func TestFairGateCancellationRacingAGrant(t *testing.T) {
	for i := range 200 {
		g := newFairGate(1)
		if !g.tryAcquire() {
			t.Fatal("the first slot is not free")
		}
		ctx, cancel := context.WithCancel(context.Background())
		racer := make(chan error, 1)
		go func() { racer <- g.acquire(ctx, "A") }()
		waitFor(t, "the racer in line", func() bool { w, _, _ := g.waitersOf(); return w == 1 })
		next := make(chan error, 1)
		go func() { next <- g.acquire(context.Background(), "B") }()
		waitFor(t, "the next in line", func() bool { w, _, _ := g.waitersOf(); return w == 2 })

		if i%2 == 0 {
			go cancel()
			g.release()
		} else {
			// The wait ends while the slot is handed over: the racer
			// finds both its grant and its context done.
			g.mu.Lock()
			cancel()
			g.held--
			g.grant()
			g.mu.Unlock()
		}
		if err := <-racer; err == nil {
			g.release()
		} else if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: the racer returned %v", i, err)
		}
		select {
		case err := <-next:
			if err != nil {
				t.Fatalf("round %d: the next waiter returned %v", i, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: the next waiter was not served in 20 s: the slot was lost", i)
		}
		g.release()
		assertEmpty(t, g)
	}
}
