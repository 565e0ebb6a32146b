package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// hookAnswer is the JSON answer of a webhook: what was stored, or why
// nothing was.
type hookAnswer struct {
	Stored   int          `json:"stored"`
	Replayed int          `json:"replayed"`
	Ignored  string       `json:"ignored,omitempty"`
	Steps    []model.Step `json:"steps,omitempty"`
}

// maxHookSteps bounds the steps one delivery may store: each is its own
// small transaction (its own idempotency key), and no real job or pipeline
// has more.
const maxHookSteps = 1000

// readHookBody reads a webhook's raw body, within the body limit: the
// signature is over these exact bytes.
func (s *Server) readHookBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBody(w, r, s.maxBodyBytes)
}

// storeHook stores what a webhook payload mapped to. A payload that maps
// to nothing, or that cannot be mapped, gets 202 with the reason and a log
// line, never an error status: the provider would only retry it, and its
// delivery log shows the reason. Each record is stored under its own
// idempotency key, so a redelivery, or a step seen again in a later event
// of the same job, is stored once.
func (s *Server) storeHook(w http.ResponseWriter, r *http.Request, provider, event string, res hooks.Result, mapErr error) {
	if mapErr != nil {
		res = hooks.Result{Ignored: "the payload could not be mapped to steps: " + mapErr.Error()}
	}
	if res.Ignored == "" && len(res.Records) > maxHookSteps {
		res = hooks.Result{Ignored: fmt.Sprintf("the delivery maps to %d steps; the limit is %d per delivery", len(res.Records), maxHookSteps)}
	}
	if res.Ignored == "" {
		limit := s.now().Add(s.maxFutureSkew)
		for i, rec := range res.Records {
			if rec.Step.Time.After(limit) {
				res = hooks.Result{Ignored: "step " + rec.Step.Status + " is in the future (more than " + s.maxFutureSkew.String() + " ahead of the server's clock)"}
				break
			}
			// A committer's clock ahead: the steps are stored, without
			// the commit time POST /v1/steps would refuse.
			if rec.Step.CommittedAt.After(limit) {
				res.Records[i].Step.CommittedAt = time.Time{}
			}
		}
	}
	if res.Ignored != "" {
		level := slog.LevelInfo
		if mapErr != nil {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(r.Context(), level, "webhook ignored", slog.String("provider", provider),
			slog.String("event", model.Shorten(event)), slog.String("reason", res.Ignored))
		s.metrics.hookEvents.WithLabelValues(provider, "ignored").Inc()
		s.writeJSON(w, r, http.StatusAccepted, hookAnswer{Ignored: res.Ignored})
		return
	}
	var ans hookAnswer
	now := s.now()
	for _, rec := range res.Records {
		step, replayed, err := s.store.CreateStep(r.Context(), rec.Step, model.RecordMeta{ReceivedAt: now, IdempotencyKey: rec.Key})
		var me *model.Error
		switch {
		case errors.As(err, &me) && me.Code == model.EUNPROCESSABLE && me.Field == "Idempotency-Key":
			// The step was stored from an earlier event with other
			// details (a mapping file changed in between, a sender
			// who differs): the first record stands.
			s.log.InfoContext(r.Context(), "webhook step already stored with other details", "provider", provider, "key", rec.Key)
			ans.Replayed++
			continue
		case err != nil:
			s.writeError(w, r, err)
			return
		case replayed:
			ans.Replayed++
		default:
			ans.Stored++
			s.stored(step)
		}
		ans.Steps = append(ans.Steps, step)
	}
	s.metrics.recorded.Add(float64(ans.Stored))
	s.metrics.hookEvents.WithLabelValues(provider, "stored").Inc()
	status := http.StatusOK
	if ans.Stored > 0 {
		status = http.StatusCreated
	}
	s.writeJSON(w, r, status, ans)
}
