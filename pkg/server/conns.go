package server

import (
	"container/list"
	"net"
	"sync"
)

// DefaultMaxClientConns bounds the connections one client address holds
// open at once (LimitListener).
const DefaultMaxClientConns = 1024

// DefaultMaxConns bounds the connections of all clients together: past
// ten thousand the goroutines and buffers behind them cost more memory
// than the file descriptors do, and no deploy pipeline needs as many at
// once. FitMaxConns lowers it to what the open-file limit allows.
const DefaultMaxConns = 10000

// connReserve is what FitMaxConns leaves of the open-file limit for what
// is not a client's connection: the database's files and pool, the spool,
// logs and certificates.
const connReserve = 512

// FitMaxConns returns the bound on all connections that the process'
// open-file limit allows, at most want: the limit less a reserve (a quarter
// of it, up to 512), at least 64. A bound above that would let connections
// take the descriptors stepsd needs for its database. want <= 0 (no bound)
// is returned unchanged.
func FitMaxConns(want int) int {
	limit, ok := openFileLimit()
	if want <= 0 || !ok {
		return want
	}
	return int(min(int64(want), max(64, limit-min(connReserve, limit/4))))
}

// LimitListener returns ln, whose Accept closes at once a connection past
// max open from one client address (keyed as the rate limit keys
// addresses: IPv6 on its /64). Each connection costs stepsd a file
// descriptor before any request is read: one client that kept opening
// connections and sending headers slowly held every descriptor the process
// may open, so that stepsd accepted no one else and its database files and
// connections could not be opened. max <= 0 returns ln unchanged.
func LimitListener(ln net.Listener, max int) net.Listener {
	return LimitConns(ln, max, 0)
}

// LimitConns bounds the connections of each client address to perClient,
// as LimitListener does, and those of all clients together to total (<= 0:
// no bound). The bound per address did not hold many addresses back: 20
// loopback addresses, each under it, took 18,150 of 20,000 descriptors and
// a probe from another address went unanswered. So at total a newcomer
// takes the place of the oldest connection of the client that holds the
// most, when that client holds at least two more than the newcomer's
// client; otherwise (everyone holds about as many) the newcomer is closed
// at once. A client with a few connections is thus served beside any
// number of greedy ones, and the greedy ones share what is left.
func LimitConns(ln net.Listener, perClient, total int) net.Listener {
	if perClient <= 0 && total <= 0 {
		return ln
	}
	return &connLimiter{
		Listener:  ln,
		perClient: perClient,
		total:     total,
		clients:   map[string]*connClient{},
		holding:   map[int]map[*connClient]struct{}{},
	}
}

type connLimiter struct {
	net.Listener
	perClient, total int

	mu      sync.Mutex
	open    int                    // connections open, all clients
	clients map[string]*connClient // only clients with some open
	// holding indexes the clients by how many connections each holds, and
	// most is the largest such count, so that the greediest client is
	// found at once however many clients there are.
	holding map[int]map[*connClient]struct{}
	most    int
}

// connClient is one client address' open connections, oldest first.
type connClient struct {
	key   string
	conns list.List // of *limitedConn
}

// Accept returns the next connection within the bounds, closing those past
// them and, at the total, the one a newcomer takes the place of.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		conn, evicted := l.admit(c)
		if evicted != nil {
			// Closed outside the lock; the server's goroutine reading it
			// fails and ends. A request in flight on it gets no answer, so
			// nothing it sent was acknowledged.
			evicted.Conn.Close() //nolint:errcheck // taken over; nothing to report
		}
		if conn != nil {
			return conn, nil
		}
		c.Close() //nolint:errcheck // refused; nothing was read
	}
}

// admit counts c in, or returns nil if it is refused; evicted is the
// connection c takes the place of, already counted out.
func (l *connLimiter) admit(c net.Conn) (conn *limitedConn, evicted *limitedConn) {
	key := clientAddr(c.RemoteAddr().String())
	l.mu.Lock()
	defer l.mu.Unlock()
	client := l.clients[key]
	held := 0
	if client != nil {
		held = client.conns.Len()
	}
	if l.perClient > 0 && held >= l.perClient {
		return nil, nil
	}
	if l.total > 0 && l.open >= l.total {
		if l.most < held+2 {
			return nil, nil
		}
		var greedy *connClient
		for g := range l.holding[l.most] {
			greedy = g
			break
		}
		evicted = greedy.conns.Front().Value.(*limitedConn)
		l.remove(evicted)
	}
	if client == nil {
		client = &connClient{key: key}
		l.clients[key] = client
	}
	conn = &limitedConn{Conn: c, limiter: l, client: client}
	l.unindex(client)
	conn.elem = client.conns.PushBack(conn)
	l.index(client)
	l.open++
	return conn, evicted
}

// remove counts conn out, once; the caller holds l.mu.
func (l *connLimiter) remove(conn *limitedConn) {
	if conn.elem == nil {
		return
	}
	client := conn.client
	l.unindex(client)
	client.conns.Remove(conn.elem)
	conn.elem = nil
	l.open--
	if client.conns.Len() == 0 {
		delete(l.clients, client.key)
		return
	}
	l.index(client)
}

func (l *connLimiter) index(c *connClient) {
	n := c.conns.Len()
	set := l.holding[n]
	if set == nil {
		set = map[*connClient]struct{}{}
		l.holding[n] = set
	}
	set[c] = struct{}{}
	l.most = max(l.most, n)
}

func (l *connLimiter) unindex(c *connClient) {
	n := c.conns.Len()
	set := l.holding[n]
	if set == nil {
		return
	}
	delete(set, c)
	if len(set) > 0 {
		return
	}
	delete(l.holding, n)
	for l.most > 0 && l.holding[l.most] == nil {
		l.most--
	}
}

// limitedConn gives its client's place back when closed, once, whether the
// server closed it or a newcomer took its place.
type limitedConn struct {
	net.Conn
	limiter *connLimiter
	client  *connClient
	elem    *list.Element // nil once counted out; guarded by limiter.mu
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.limiter.mu.Lock()
	c.limiter.remove(c)
	c.limiter.mu.Unlock()
	return err
}
