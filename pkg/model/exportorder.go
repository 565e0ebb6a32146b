package model

import (
	"strconv"
	"strings"
)

// ExportedID reads the id an export gave a step, from a CSV cell or a JSON
// value's text: 0 when v is not one, as the id is otherwise ignored.
func ExportedID(v string) int64 {
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

// ExportedOutOfOrder says why a step to import, in (exported with id),
// cannot follow the one sent before it, prev (exported with prevID): both
// are of one deployment's target at the same instant, and in came before
// prev where they were exported (its id is lower). Steps of one instant are
// numbered in the order they are stored (docs/api.md, "A second deploy of
// the same version"), so stored in the order sent they would swap: a
// rollout and a finished at one microsecond would leave the deployment in
// progress and open another. It is nil for any other pair, and for steps
// without an exported id (0). unit names what the file is made of: "line",
// "row".
func ExportedOutOfOrder(prev StepInput, prevID int64, in StepInput, id int64, unit string) error {
	if prevID == 0 || id == 0 || id >= prevID || !in.Time.Equal(prev.Time) || in.Component != prev.Component ||
		in.Version != prev.Version || in.Environment != prev.Environment {
		return nil
	}
	return Invalid("id", "this step has the time of the %s before it and came before it (id %d, then %d): the file lists steps newest first (order=desc, or sorted again), and steps of one instant are stored in the order sent, which decides their deployments; export in the default order (oldest first) and import that",
		unit, prevID, id)
}
