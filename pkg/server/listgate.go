package server

import (
	"net/http"
	"sync"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// DefaultClientLists bounds the list answers (GET /v1/steps,
// GET /v1/deployments), analyses (GET /v1/stats, /v1/dora, /v1/changes)
// and pages one client may have in progress at once.
const DefaultClientLists = 16

// DefaultMaxLists bounds the list answers, analyses and pages in progress
// across all clients (see Config.MaxLists).
const DefaultMaxLists = 128

// listGate counts the list answers (and, as Server.batches, the batches) in
// progress per client, and with total > 0 across all clients. Each list answer holds a page in memory (up to 10,000
// steps with a limit, 1,000 or 100 deployments when streamed) until its
// client has read it, and a client that stops reading keeps it for
// writeTimeout: 100 stalled limit=10000 lists of long values took stepsd
// past 1 GB. The map holds only clients with a list in progress, so it is
// bounded by the open connections.
type listGate struct {
	max   int
	total int // across all clients; 0: no bound
	mu    sync.Mutex
	open  map[string]int
	all   int
}

func newListGate(max int) *listGate {
	if max <= 0 {
		max = DefaultClientLists
	}
	return &listGate{max: max, open: map[string]int{}}
}

// enter takes a slot for key, or reports false when key has all of its
// slots in use; full says that all clients together have every slot.
func (g *listGate) enter(key string) (ok, full bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open[key] >= g.max {
		return false, false
	}
	if g.total > 0 && g.all >= g.total {
		return false, true
	}
	g.open[key]++
	g.all++
	return true, false
}

// leave gives back a slot taken by enter.
func (g *listGate) leave(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.all--
	if g.open[key]--; g.open[key] <= 0 {
		delete(g.open, key)
	}
}

// enterList takes one of the client's list slots, or answers the API's
// JSON error (see takeList) and reports false.
func (s *Server) enterList(w http.ResponseWriter, r *http.Request) (leave func(), ok bool) {
	return s.takeList(w, r, func(err error) { s.writeError(w, r, err) })
}

// takeList takes one of the client's list slots, or sets Retry-After,
// answers tooManyLists with refuse (the API's JSON error, or the page's
// HTML) and reports false. The client is keyed as the rate limiter keys
// it.
func (s *Server) takeList(w http.ResponseWriter, r *http.Request, refuse func(error)) (leave func(), ok bool) {
	key := s.clientKey(r)
	if ok, full := s.lists.enter(key); !ok {
		retry := "1"
		if full {
			retry = "5"
		}
		w.Header().Set("Retry-After", retry)
		refuse(s.tooManyLists(full))
		return nil, false
	}
	return func() { s.lists.leave(key) }, true
}

// tooManyLists is the 429 of a client with every list slot in use, or with
// full the 503 (Retry-After: 5) of a server with every slot of all clients
// in use. Each slot holds up to a page of a list in memory for as long as
// its client takes to read it: 664 stalled exports of GET /v1/steps from
// 100 addresses, each within its 16, took stepsd from 50 MB to 1.1 GB (a
// page of 8,000 steps each), where its Kubernetes manifest gives it 512 MiB.
func (s *Server) tooManyLists(full bool) error {
	if full {
		return model.Errorf(model.EUNAVAILABLE,
			"the server already has %d lists in progress, its limit (lists, stats, DORA, changes and pages count alike); retry after 5 s", s.lists.total)
	}
	return model.Errorf(model.ERATELIMITED,
		"this client already has %d lists in progress, the limit (lists, stats, DORA, changes and pages count alike); read them to the end (or close them) before asking for another, or retry after 1 s", s.lists.max)
}

// gateAnswer holds one of the client's list slots while h answers: the
// analyses (GET /v1/stats, /v1/dora, /v1/changes) build their whole
// answer in memory and keep it until their client has read it, as a list
// keeps its page. A stats answer reaches 8 MB from a hundred steps (1,000
// day buckets, 49 step names), and 60 stalled ones from one client held
// 520 MB of stepsd for the minute before writeTimeout cut them off: the
// rate limit's burst of 1,000 would have held gigabytes.
func (s *Server) gateAnswer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leave, ok := s.enterList(w, r)
		if !ok {
			return
		}
		defer leave()
		h.ServeHTTP(w, r)
	})
}

// gatePage is gateAnswer for the page's own routes (the dashboard, a
// deployment's timeline), each rendered whole before it is sent; its 429
// is the page's HTML.
func (s *Server) gatePage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		refuse := func(err error) {
			s.renderPageError(w, r, api.StatusOf(model.ErrorCode(err)), "Too many requests", model.ErrorMessage(err))
		}
		leave, ok := s.takeList(w, r, refuse)
		if !ok {
			return
		}
		defer leave()
		s.holdAnswer(w, r, refuse, h)
	}
}
