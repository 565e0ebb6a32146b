package server

import (
	"net/http"
	"strconv"

	"github.com/steps-dev/steps/pkg/model"
)

// changesParams are the parameters GET /v1/changes accepts. Version and
// owner are left out on purpose: a change point is found in a component's
// history, and a history cut down to one version or one owner has none.
var changesParams = []string{"component", "environment", "since", "start_datetime", "until", "end_datetime", "outcome", "format"}

// handleChanges serves GET /v1/changes: the moments a component's deploy
// time shifted, per component and environment, with the steps that moved;
// computed in one pass over the deployments, as the stats are.
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	p, f, format, _, err := deploymentQuery(r, changesParams, s.location)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts := model.ChangesOptions{Outcome: p["outcome"]}
	if err := opts.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}

	acc := model.NewChangesAccumulator(opts)
	// The accumulator keeps no deployment.
	err = s.store.EachDeploymentPassing(r.Context(), model.DeploymentFilter{Filter: f}, s.rules, s.now(), func(d *model.Deployment) error {
		acc.Add(d)
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	changes := acc.Result()
	if changes.Changes == nil {
		changes.Changes = []model.Change{} // "changes": [] rather than null
	}
	if format == formatCSV {
		s.writeChangesCSV(w, r, changes)
		return
	}
	s.writeJSON(w, r, http.StatusOK, changes)
}

// ChangesCSVHeader is the header row of changes as CSV: one row per change
// and step that moved, the change's columns repeated on each, so that a
// spreadsheet can filter by step or pivot by change. A change without step
// figures has one row with the step columns empty.
var ChangesCSVHeader = []string{"component", "environment", "time", "version", "attempt",
	"before_p50_seconds", "after_p50_seconds", "change_percent", "p_value",
	"step", "step_before_p50_seconds", "step_after_p50_seconds", "step_change_seconds", "step_share_of_change_percent"}

func (s *Server) writeChangesCSV(w http.ResponseWriter, r *http.Request, cs model.Changes) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="changes.csv"`)
	cw, answer := newAnswerCSV()
	cw.Write(ChangesCSVHeader) //nolint:errcheck // into memory: cannot fail
	for _, c := range cs.Changes {
		head := []string{model.NeutraliseCell(c.Component), model.NeutraliseCell(c.Environment),
			model.FormatSpreadsheetTime(c.Time), model.NeutraliseCell(c.Version), strconv.Itoa(c.Attempt),
			model.FormatSeconds(c.BeforeP50Seconds), model.FormatSeconds(c.AfterP50Seconds), model.FormatPercent(c.ChangePercent),
			model.FormatSeconds(c.PValue)}
		if len(c.Steps) == 0 {
			cw.Write(append(head, "", "", "", "", "")) //nolint:errcheck // into memory: cannot fail
			continue
		}
		for _, st := range c.Steps {
			rec := append(head[:len(head):len(head)], model.NeutraliseCell(st.Status),
				model.FormatSeconds(st.BeforeP50Seconds), model.FormatSeconds(st.AfterP50Seconds),
				model.FormatSeconds(st.ChangeSeconds), model.FormatPercent(st.ShareOfChangePercent))
			cw.Write(rec) //nolint:errcheck // into memory: cannot fail
		}
	}
	s.sendAnswerCSV(w, r, cw, answer)
}
