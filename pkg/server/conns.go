package server

import (
	"net"
	"sync"
)

// DefaultMaxClientConns bounds the connections one client address holds
// open at once (LimitListener).
const DefaultMaxClientConns = 1024

// LimitListener returns ln, whose Accept closes at once a connection past
// max open from one client address (keyed as the rate limit keys
// addresses: IPv6 on its /64). Each connection costs stepsd a file
// descriptor before any request is read: one client that kept opening
// connections and sending headers slowly held every descriptor the process
// may open, so that stepsd accepted no one else and its database files and
// connections could not be opened. max <= 0 returns ln unchanged.
func LimitListener(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: max, open: map[string]int{}}
}

type connLimiter struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int // connections open per client; only those with some
}

// Accept returns the next connection whose client holds fewer than max.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientAddr(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open[key] < l.max
		if ok {
			l.open[key]++
		}
		l.mu.Unlock()
		if ok {
			return &limitedConn{Conn: c, done: func() { l.release(key) }}, nil
		}
		c.Close() //nolint:errcheck // refused; nothing was read
	}
}

func (l *connLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// limitedConn gives its client's place back when closed, once.
type limitedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}
