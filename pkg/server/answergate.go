package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Defaults of the bound on answers held while their clients read them.
const (
	// DefaultMaxAnswerBytes bounds the bytes of the analyses' and the
	// page's answers (each built whole before it is sent) held at once
	// while their clients read them: eight stats answers of the largest
	// kind (8 MB: daily buckets over years, dozens of step names).
	DefaultMaxAnswerBytes = 64 << 20
	// DefaultAnswerWait is how long an answer waits for room under
	// MaxAnswerBytes before it is refused with 503.
	DefaultAnswerWait = 5 * time.Second
)

// answerGateMin is the smallest write counted under MaxAnswerBytes. The
// lists' streamed writes (32 KiB, see newStreamWriter) and the small
// answers stay outside it: the lists' slots bound them.
const answerGateMin = 64 << 10

// errAnswerRefused is what a handler's Write returns once its answer was
// refused for want of room (the 503 is already sent).
var errAnswerRefused = errors.New("answer refused: no room under the bound on answers held")

// answerWriter holds, for each large write of an answer, its bytes under
// Server.answers until the client has taken them: a client that stops
// reading keeps its answer in stepsd's memory until writeTimeout, and the
// lists' slots bound only how many. 128 stalled stats answers of 8 MB,
// from eight addresses each within its 16, took stepsd from 160 MB to
// 1.07 GB. The status waits for the first write, so that an answer that
// finds no room is still refused properly (503).
type answerWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	refuse  func(error)
	status  int  // set by WriteHeader, sent with the first write
	sent    bool // the status is out
	refused bool
}

func (w *answerWriter) WriteHeader(status int) {
	if w.sent || w.status != 0 {
		return
	}
	if status < 200 {
		w.ResponseWriter.WriteHeader(status) // informational: not the answer's
		return
	}
	w.status = status
}

// sendStatus sends the status set by WriteHeader, if any, once.
func (w *answerWriter) sendStatus() {
	if w.sent {
		return
	}
	w.sent = true
	if w.status != 0 {
		w.ResponseWriter.WriteHeader(w.status)
	}
}

func (w *answerWriter) Write(b []byte) (int, error) {
	if w.refused {
		return 0, errAnswerRefused
	}
	if len(b) < answerGateMin {
		w.sendStatus()
		return w.ResponseWriter.Write(b)
	}
	release, err := w.s.holdBytes(w.r, len(b))
	if err != nil {
		if w.sent {
			// Part of the answer is out: cut the connection so that the
			// client sees a broken transfer, not an answer that looks whole.
			panic(http.ErrAbortHandler)
		}
		w.refused = true
		if model.ErrorCode(err) == model.EUNAVAILABLE {
			w.Header().Set("Retry-After", "5")
		}
		w.refuse(err)
		return 0, errAnswerRefused
	}
	defer release()
	w.sendStatus()
	return w.ResponseWriter.Write(b)
}

// holdBytes takes room for an answer of size bytes under MaxAnswerBytes,
// waiting up to AnswerWait, and returns what gives it back. Its error is
// the 503 naming the bound, or the request's own end.
func (s *Server) holdBytes(r *http.Request, size int) (release func(), err error) {
	n := min(int64(size), s.answers.size)
	ctx, cancel := context.WithTimeout(r.Context(), s.answerWait)
	defer cancel()
	if err := s.answers.acquire(ctx, n); err != nil {
		if r.Context().Err() != nil {
			return nil, r.Context().Err()
		}
		return nil, s.tooManyAnswerBytes(size)
	}
	return func() { s.answers.release(n) }, nil
}

// FlushError sends the status first, which http.ResponseController would
// otherwise skip past through Unwrap.
func (w *answerWriter) FlushError() error {
	w.sendStatus()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// holdAnswer runs h with its large writes held under Server.answers; an
// answer that finds no room within AnswerWait is answered by refuse.
func (s *Server) holdAnswer(w http.ResponseWriter, r *http.Request, refuse func(error), h http.HandlerFunc) {
	aw := &answerWriter{ResponseWriter: w, s: s, r: r, refuse: refuse}
	h(aw, r)
	if !aw.refused {
		aw.sendStatus() // a status without a body
	}
}

// tooManyAnswerBytes is the 503 of an answer of size bytes that found no
// room under MaxAnswerBytes within AnswerWait.
func (s *Server) tooManyAnswerBytes(size int) error {
	return model.Errorf(model.EUNAVAILABLE,
		"the server already holds %d MiB of answers that their clients are still reading, its limit, and this one is %.1f MiB; retry after 5 s (or narrow it: a shorter range, a coarser bucket)",
		s.answers.size>>20, float64(size)/(1<<20))
}
