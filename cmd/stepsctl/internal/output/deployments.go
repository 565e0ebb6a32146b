package output

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// PhaseSeparator separates the phases of a deployment in a table.
const PhaseSeparator = " › "

// DeploymentWriter prints deployments one at a time, as they arrive, in one
// format. Close finishes the output.
type DeploymentWriter struct {
	*ListWriter[model.Deployment]
}

// NewDeploymentWriter returns a DeploymentWriter printing to w. steps adds
// each deployment's phases to a table (CSV and JSON always have them).
func NewDeploymentWriter(w io.Writer, o Options, steps bool) *DeploymentWriter {
	o = defaults(o)
	// REVISION, the commit deployed, is left out of a table none of
	// whose deployments has one (tableOptional).
	header := []string{"STARTED", "COMPONENT", "VERSION", "REVISION", "ENV", "ATTEMPT", "OWNER", "DURATION", "OUTCOME"}
	const deploymentRevisionColumn = 3
	if steps {
		header = append(header, "STEPS")
	}
	return &DeploymentWriter{&ListWriter[model.Deployment]{w: w, o: o, layout: listLayout[model.Deployment]{
		csvHeader: model.DeploymentCSVHeader,
		csvRow:    func(d model.Deployment) []string { return model.DeploymentCSVRow(&d) },
		json:      deploymentJSON,
		plainRow: func(d model.Deployment) []string {
			row := []string{
				d.StartedAt.UTC().Format(time.RFC3339Nano),
				d.Component,
				d.Version,
				d.Environment,
				strconv.Itoa(d.Attempt),
				d.Owner,
				model.FormatSeconds(d.DurationSeconds),
				d.Outcome,
				strconv.FormatBool(d.Stuck),
			}
			if steps {
				row = append(row, model.PhaseList(&d))
			}
			// Last, after the steps too, so that a script reading the
			// columns by position before overdue existed keeps working.
			return append(row, strconv.FormatBool(d.Overdue))
		},
		tableHeader:   header,
		tableOptional: []int{deploymentRevisionColumn},
		tableRow: func(d model.Deployment) []string {
			row := []string{
				d.StartedAt.In(o.Location).Format(model.TerminalTime),
				d.Component,
				d.Version,
				model.ShortRevision(d.Revision),
				d.Environment,
				strconv.Itoa(d.Attempt),
				d.Owner,
				model.HumanDuration(d.DurationSeconds),
				Outcome(d),
			}
			if steps {
				row = append(row, Phases(d, o.Now))
			}
			return row
		},
	}}}
}

// Outcome says how a deployment went, for a person: "success", "failure",
// "in progress", or "in progress, stuck"; in progress with an ETA, the
// time left: "in progress, ETA 1m45s" (none when stuck: ShownETA).
func Outcome(d model.Deployment) string {
	switch {
	case d.Outcome == model.OutcomeInProgress && d.Stuck:
		return "in progress, stuck"
	case d.Outcome == model.OutcomeInProgress:
		if eta := d.ShownETA(); eta != nil {
			return "in progress, " + model.ETAPhraseLate(*eta, d.Overdue)
		}
		return "in progress"
	}
	return d.Outcome
}

// Phases is a deployment's breakdown for a person:
// "build 1m02s › tests 3m10s › rollout 45s › finished". The last step of a
// deployment in progress is still running; it shows the time so far and an
// ellipsis: "rollout 4m02s…".
func Phases(d model.Deployment, now time.Time) string {
	parts := make([]string, 0, len(d.Steps))
	for i, p := range d.Steps {
		sec, running, ok := d.PhaseSeconds(i, now)
		name := p.Status
		if p.Idle {
			name = "idle" // waiting between steps, not a step
		}
		switch {
		case running:
			parts = append(parts, name+" "+model.HumanDuration(sec)+"…")
		case ok:
			parts = append(parts, name+" "+model.HumanDuration(sec))
		default:
			parts = append(parts, p.Status)
		}
	}
	return strings.Join(parts, PhaseSeparator)
}

func deploymentJSON(d model.Deployment) ([]byte, error) {
	d.StartedAt = d.StartedAt.UTC()
	if d.FinishedAt != nil {
		t := d.FinishedAt.UTC()
		d.FinishedAt = &t
	}
	if d.ExpectedFinishAt != nil {
		t := d.ExpectedFinishAt.UTC()
		d.ExpectedFinishAt = &t
	}
	steps := make([]model.Phase, len(d.Steps))
	for i, p := range d.Steps {
		p.Time = p.Time.UTC()
		steps[i] = p
	}
	d.Steps = steps
	return json.Marshal(d)
}
