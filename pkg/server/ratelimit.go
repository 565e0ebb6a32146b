package server

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/steps-dev/steps/pkg/model"
)

// Defaults of the per-client rate limit: generous enough for any deploy
// pipeline, and for an import through the batch endpoint.
const (
	DefaultRateLimit = 500  // requests per second per client
	DefaultRateBurst = 1000 // requests a client may send at once
	// DefaultRateClients bounds the clients the limiter remembers.
	DefaultRateClients = 10000
)

// rateLimiter is a token bucket per client, in a map bounded two ways:
// buckets that have refilled (their clients are idle) are swept every
// minute, and past maxClients the least recently seen client is forgotten,
// so neither many addresses nor many bogus tokens can grow it.
type rateLimiter struct {
	limit      rate.Limit
	burst      int
	maxClients int
	now        func() time.Time

	mu      sync.Mutex
	clients map[string]*list.Element // of *limitedClient, most recent first
	recent  list.List
	swept   time.Time
}

type limitedClient struct {
	key string
	lim *rate.Limiter
}

func newRateLimiter(perSecond float64, burst, maxClients int, now func() time.Time) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = int(math.Ceil(perSecond))
	}
	if maxClients < 1 {
		maxClients = DefaultRateClients
	}
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, maxClients: maxClients, now: now,
		clients: map[string]*list.Element{}, swept: now()}
}

// allow takes a token for key, or says how long until one is free.
func (l *rateLimiter) allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	var c *limitedClient
	if e := l.clients[key]; e != nil {
		l.recent.MoveToFront(e)
		c = e.Value.(*limitedClient)
	} else {
		if len(l.clients) >= l.maxClients {
			oldest := l.recent.Back()
			l.recent.Remove(oldest)
			delete(l.clients, oldest.Value.(*limitedClient).key)
		}
		c = &limitedClient{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = l.recent.PushFront(c)
	}
	if c.lim.AllowN(now, 1) {
		return true, 0
	}
	// Tokens are below 1; the next one comes at the rate.
	missing := 1 - c.lim.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// len is how many clients the limiter remembers.
func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// sweep forgets clients whose buckets have refilled: they are idle, and a
// new bucket would be the same.
func (l *rateLimiter) sweep(now time.Time) {
	l.swept = now
	for e := l.recent.Back(); e != nil; {
		prev := e.Prev()
		if c := e.Value.(*limitedClient); c.lim.TokensAt(now) >= float64(l.burst) {
			l.recent.Remove(e)
			delete(l.clients, c.key)
		}
		e = prev
	}
}

// clientKey identifies who is calling. With tokens configured, a valid
// token names the caller: "token N" (its place in the configured list),
// together with the address, so that clients sharing one write token each
// get their own bucket and one flooding runner does not starve the others.
// Anything else (no token, a wrong one, an open server) is keyed on the
// address alone: rotating made-up tokens buys nothing. IPv6 addresses are
// keyed on their /64, which one host can fill.
func (s *Server) clientKey(r *http.Request) string {
	addr := clientAddr(r.RemoteAddr)
	if s.tokens != nil {
		if tok, ok := bearerToken(r); ok {
			if i := s.tokens.match(tok); i >= 0 {
				return "token " + strconv.Itoa(i+1) + " at " + addr
			}
		}
	}
	return addr
}

func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	// netip parses without allocating, as net.ParseIP does not. A zoned
	// (link-local) address is keyed whole, as net.ParseIP refused it.
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || ip.Is4() || ip.Is4In6() {
		return host
	}
	prefix, err := ip.Prefix(64)
	if err != nil {
		return host
	}
	return prefix.Addr().String() + "/64"
}

// limitRate answers 429 with Retry-After to a client over its rate. The
// probes are exempt: an orchestrator must always be able to ask.
func (s *Server) limitRate(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		if ok, wait := s.limiter.allow(s.clientKey(r)); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			s.writeError(w, r, model.Errorf(model.ERATELIMITED, "too many requests; retry after %d s", max(1, secs)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
