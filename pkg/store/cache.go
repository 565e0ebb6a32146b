package store

import "sync"

// targetCache remembers the committed state of the targets this store
// wrote last, so that their next steps skip the locked read of their rows
// (see the package notes): a conflict forgets the entries.
type targetCache struct {
	mu sync.Mutex
	m  map[target]targetState
}

// maxCachedTargets bounds the cache; past it, it starts again empty.
const maxCachedTargets = 10_000

// fill sets the states of work's targets from the cache, and says
// whether it did: only when it knows every target and their steps all
// come after the last ones it remembers (strictly later in time).
func (c *targetCache) fill(work []*targetWork) bool {
	states := make([]targetState, len(work))
	c.mu.Lock()
	for i, w := range work {
		e, ok := c.m[w.target]
		// A step at the instant of the last may come before it (by
		// id): that is for the locked read and findRedo to decide.
		if !ok || !w.steps[0].Time.After(e.last) {
			c.mu.Unlock()
			return false
		}
		states[i] = e
	}
	c.mu.Unlock()
	for i, w := range work {
		w.targetState, w.exists, w.cached = states[i], true, true
	}
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

// forget drops the targets of work, one of whose rows was written
// elsewhere.
func (c *targetCache) forget(work []*targetWork) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range work {
		delete(c.m, w.target)
	}
}

// clear forgets every target.
func (c *targetCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
