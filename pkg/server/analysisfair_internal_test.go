package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// turnedAnalyses is a real store whose reads of deployments for an
// analysis each wait for a turn given by the test, recording in which
// order the analyses reached it (by the component they ask for).
type turnedAnalyses struct {
	Store
	turn, done chan struct{}
	mu         sync.Mutex
	order      []string
}

func (h *turnedAnalyses) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	h.mu.Lock()
	h.order = append(h.order, f.Component)
	h.mu.Unlock()
	select {
	case <-h.turn:
	case <-h.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.EachDeploymentPassing(ctx, f, rules, now, fn)
}

func (h *turnedAnalyses) reached() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.order...)
}

// fetchFrom is fetchAsync from the loopback address ip, another client.
func fetchFrom(ip, url string) <-chan gateAnswer {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return fetchWith(&http.Client{Transport: &http.Transport{DialContext: d.DialContext}}, url)
}

// With first come first served across clients, one client keeping its
// analyses queued put every other client's behind all of them: at 1–2 s
// each over millions of steps, a colleague's dashboard waited past the
// 10 s and got 503. Turns are fair between clients: with MaxAnalyses 1,
// client A computing one analysis and five more queued, client B's one
// analysis asked after them is computed after at most one of A's queued
// ones, before the rest; and all are served.
func TestAnalysesTakeTurnsBetweenClients(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		held := &turnedAnalyses{Store: testdb.Open(t, fresh(t)), turn: make(chan struct{}), done: make(chan struct{})}
		s := New(Config{Store: held, MaxAnalyses: 1, AnalysisWait: time.Minute})
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(held.done) })
		if c := recordOne(t, srv.URL, "1"); c != http.StatusCreated {
			t.Fatalf("record = %d, want 201", c)
		}

		const queuedA = 5
		answers := map[string]<-chan gateAnswer{"a0": fetchFrom("127.0.0.2", srv.URL+"/v1/stats?component=a0")}
		waitFor(t, "A's first analysis reaching the store", func() bool { return len(held.reached()) == 1 })
		for i := 1; i <= queuedA; i++ {
			name := "a" + string(rune('0'+i))
			answers[name] = fetchFrom("127.0.0.2", srv.URL+"/v1/stats?component="+name)
			waitFor(t, name+" queued", func() bool { return s.queued() == i })
		}
		answers["b"] = fetchFrom("127.0.0.3", srv.URL+"/v1/stats?component=b")
		waitFor(t, "B's analysis queued", func() bool { return s.queued() == queuedA+1 })

		// One analysis at a time is let through the store; the next
		// granted reaches it before the following turn is given.
		for i := range queuedA + 1 {
			held.turn <- struct{}{}
			waitFor(t, "the next analysis reaching the store", func() bool { return len(held.reached()) == i+2 })
		}
		held.turn <- struct{}{}

		order := held.reached()
		before := 0
		for _, name := range order[1:] {
			if name == "b" {
				break
			}
			before++
		}
		if before > 1 {
			t.Errorf("analyses reached the store in the order %v: B's waited for %d of A's queued ones, want at most 1", order, before)
		}
		for name, ch := range answers {
			if a := recvAnswer(t, ch); a.status != http.StatusOK {
				t.Errorf("analysis %s = %d %s, want 200", name, a.status, a.body)
			}
		}
		if q := s.queued(); q != 0 {
			t.Errorf("%d still queued", q)
		}
	})
}
