package store

import "sync"

// targetCache remembers the state of the targets this store wrote last, so
// that the next step of one of them, sent alone, skips the locked read of
// its row: the write of the row then checks that no write came between
// (its count of writes), and a conflict forgets the entry and runs the
// transaction again with the locked read. Only committed states are
// remembered.
type targetCache struct {
	mu sync.Mutex
	m  map[target]targetState
}

// maxCachedTargets bounds the cache; past it, it starts again empty.
const maxCachedTargets = 10_000

// fill sets the state of work's target from the cache, and says whether
// it did: only for work of one target whose steps all come after its last.
func (c *targetCache) fill(work []*targetWork) bool {
	if len(work) != 1 {
		return false
	}
	w := work[0]
	c.mu.Lock()
	e, ok := c.m[w.target]
	c.mu.Unlock()
	if !ok || w.steps[0].Time.Before(e.last) {
		return false
	}
	w.targetState, w.exists, w.cached = e, true, true
	return true
}

// remember stores the states that work committed.
func (c *targetCache) remember(work []*targetWork) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(work) > maxCachedTargets {
		c.m = make(map[target]targetState, len(work))
	}
	for _, w := range work {
		st := w.targetState
		st.writes++ // as writeTargets counted it
		c.m[w.target] = st
	}
}

// forget drops a target whose row was written elsewhere.
func (c *targetCache) forget(t target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, t)
}

// clear forgets every target.
func (c *targetCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
