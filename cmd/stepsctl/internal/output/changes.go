package output

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// WriteChanges prints change points for a person, one line each, oldest
// first:
//
//	2026-10-19  api 1.20.0 → production  +38 % (9m02s → 12m28s)  tests +3m10s (92 %)
//
// the day of the first deployment after the change, that deployment, the
// change of the p50 deploy time, and the steps that moved most.
func WriteChanges(w io.Writer, o Options, cs model.Changes) error {
	o = defaults(o)
	var buf bytes.Buffer
	if len(cs.Changes) == 0 {
		fmt.Fprintln(&buf, "No shift in deploy time found in this range.")
		_, err := w.Write(buf.Bytes())
		return err
	}
	for _, c := range cs.Changes {
		buf.WriteString(ChangeLine(o, c))
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// ChangeLine is one change in words (see WriteChanges).
func ChangeLine(o Options, c model.Change) string {
	o = defaults(o)
	what := c.Component + " " + c.Version
	if c.Attempt > 1 {
		what += fmt.Sprintf(" (attempt %d)", c.Attempt)
	}
	if c.Environment != "" {
		what += " → " + c.Environment
	}
	line := fmt.Sprintf("%s  %s  %+.0f %% (%s → %s)", c.Time.In(o.Location).Format("2006-01-02"), what,
		model.PrintRound(c.ChangePercent, 0), model.HumanDuration(c.BeforeP50Seconds), model.HumanDuration(c.AfterP50Seconds))
	var moved []string
	for _, s := range model.MovedSteps(c) {
		moved = append(moved, model.StepChangePhrase(s))
	}
	if len(moved) > 0 {
		line += "  " + strings.Join(moved, ", ")
	}
	return line
}
