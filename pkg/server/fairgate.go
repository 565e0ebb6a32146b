package server

import (
	"container/list"
	"context"
	"sync"
)

// fairGate is a counting semaphore whose waiters are served in turn by
// client: round-robin over the clients with a waiter, first come first
// served within one client. A client that keeps many waiting is served one
// at a time between the others, so another client's newcomer waits for at
// most one grant per other client with waiters (and the slots in use), not
// for the whole line. Each operation is O(1); only clients with a waiter
// have an entry, each removed when its last waiter is granted or gives up.
type fairGate struct {
	size    int
	mu      sync.Mutex
	held    int
	waiters int                    // waiters over all clients
	clients map[string]*fairClient // clients with a waiter
	turns   list.List              // of *fairClient, whose turn comes first
}

type fairClient struct {
	key     string
	waiting list.List     // of *fairWaiter, first come first
	turn    *list.Element // its place in fairGate.turns
}

type fairWaiter struct {
	ready chan struct{} // closed once a slot is held for it
}

func newFairGate(size int) *fairGate {
	return &fairGate{size: size, clients: map[string]*fairClient{}}
}

// tryAcquire holds a slot if one is free and nobody waits for one.
func (g *fairGate) tryAcquire() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.takeFree()
}

// takeFree takes a slot if one is free and nobody waits for one (a
// newcomer never passes a waiter). g.mu must be held.
func (g *fairGate) takeFree() bool {
	if g.waiters == 0 && g.held < g.size {
		g.held++
		return true
	}
	return false
}

// acquire holds a slot for the client key, waiting for its turn until one
// is granted or ctx ends.
func (g *fairGate) acquire(ctx context.Context, key string) error {
	g.mu.Lock()
	if g.takeFree() {
		g.mu.Unlock()
		return nil
	}
	c := g.clients[key]
	if c == nil {
		c = &fairClient{key: key}
		c.turn = g.turns.PushBack(c)
		g.clients[key] = c
	}
	wt := &fairWaiter{ready: make(chan struct{})}
	e := c.waiting.PushBack(wt)
	g.waiters++
	g.mu.Unlock()
	select {
	case <-wt.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-wt.ready:
		// Granted as the wait ended: pass the slot on.
		g.held--
		g.grant()
	default:
		c.waiting.Remove(e)
		g.waiters--
		if c.waiting.Len() == 0 {
			g.drop(c)
		}
	}
	return ctx.Err()
}

// release gives back a slot held by acquire or tryAcquire.
func (g *fairGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held--
	g.grant()
}

// grant hands the free slots to the first waiter of each client in turn.
func (g *fairGate) grant() {
	for g.held < g.size && g.turns.Len() > 0 {
		c := g.turns.Front().Value.(*fairClient)
		wt := c.waiting.Remove(c.waiting.Front()).(*fairWaiter)
		g.waiters--
		g.held++
		close(wt.ready)
		if c.waiting.Len() == 0 {
			g.drop(c)
		} else {
			g.turns.MoveToBack(c.turn)
		}
	}
}

// drop forgets a client that has no waiter left.
func (g *fairGate) drop(c *fairClient) {
	g.turns.Remove(c.turn)
	delete(g.clients, c.key)
}
