package server

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// DefaultAnalysisWait is how long an analysis waits for its turn under
// Config.MaxAnalyses before it is refused with 503.
const DefaultAnalysisWait = 10 * time.Second

// DefaultMaxAnalyses is the analyses computed at once when
// Config.MaxAnalyses is 0: half the CPUs Go may use, at least one, so that
// the other half is left to writes and probes.
func DefaultMaxAnalyses() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// enterAnalysis waits its turn for one of the slots of the analyses
// computed at once (Config.MaxAnalyses): each reads every deployment in its
// range and computes robust trends over them, CPU bound (0.1–0.15 s of CPU
// for 3,000 deployments of 20 steps), and one client within its rate limit
// and its 16 list slots kept 16 running on a 2-core host, so that other
// clients' writes took 150 ms at the median and 850 ms at p99 (2 ms and
// 8 ms without) and /readyz up to 0.5 s. Turns are fair between clients
// (fairGate): key is the client as the rate limiter and the list slots key
// it, and the waiting analyses are granted one client at a time in turn,
// first come first served within one client. First come first served across
// clients let one client with 16 analyses queued (1–2 s each over millions
// of steps) keep every other client's analysis waiting behind all 16, past
// analysisWait, so that one client denied analyses to all; now another
// client's analysis waits for those in progress and at most one of each
// other client with analyses waiting. Past analysisWait, or when ctx ends,
// it reports an EUNAVAILABLE error (503, Retry-After: 5); else leave gives
// the slot back (more than once is harmless).
func (s *Server) enterAnalysis(ctx context.Context, key string) (leave func(), err error) {
	wctx, cancel := context.WithTimeout(ctx, s.analysisWait)
	err = s.analyses.acquire(wctx, key)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, model.Errorf(model.EUNAVAILABLE,
			"the server is busy: %d analyses (stats, DORA, changes, pages) are computed at once, its bound (--max-analyses), and this one found no turn in %s; retry after 5 s",
			s.analyses.size, s.analysisWait)
	}
	var once sync.Once
	return func() { once.Do(s.analyses.release) }, nil
}

// tryAnalysis takes an analysis slot if one is free and no analysis waits
// for one, without waiting.
func (s *Server) tryAnalysis() (leave func(), ok bool) {
	if !s.analyses.tryAcquire() {
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(s.analyses.release) }, true
}

// gateAnalysis holds one of the analysis slots (enterAnalysis, its client
// keyed as gateAnswer keys the list slots) while h computes its answer,
// and gives it back when h starts to send it: a client that reads its
// answer slowly holds no slot, only the answer.
func (s *Server) gateAnalysis(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leave, err := s.enterAnalysis(r.Context(), s.clientKey(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer leave()
		// The answer waits for room under MaxAnswerBytes before it leaves
		// the slot: the answers built and waiting are thus as few as the
		// slots, where they were as many as the lists (128 of 8 MB).
		lw := &leavingWriter{ResponseWriter: w, leave: leave}
		s.holdAnswer(lw, r, func(err error) { s.writeError(lw, r, err) }, h.ServeHTTP)
	})
}

// leavingWriter calls leave before the first byte of the answer is sent.
type leavingWriter struct {
	http.ResponseWriter
	leave func()
}

func (w *leavingWriter) WriteHeader(status int) {
	w.leave()
	w.ResponseWriter.WriteHeader(status)
}

func (w *leavingWriter) Write(b []byte) (int, error) {
	w.leave()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the write
// deadlines of streamed answers, Flush).
func (w *leavingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
