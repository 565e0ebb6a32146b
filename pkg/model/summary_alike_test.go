package model_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSummarySaysStepsAlikeButForCase: a script that sends "Tests" where
// the others send "tests" splits that step in two, and the slowest-step
// table ranks each half too low; the summary names them. One spelling
// has no such clause.
func TestSummarySaysStepsAlikeButForCase(t *testing.T) {
	var ds []*model.Deployment
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := range 40 {
		tests := "tests"
		if i%2 == 1 {
			tests = "Tests"
		}
		ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d", i), "production", start.AddDate(0, 0, i),
			[]string{"build", tests, "rollout"}, []float64{180, 300, 120}))
	}
	want := "Steps named alike but for case are counted apart: `Tests` and `tests`; a deploy script should send one spelling."
	if st := stats(t, ds); !strings.Contains(st.Summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, st.Summary)
	}
	// Spellings past three are counted, not each named: a status of n
	// letters has 2^n of them.
	spellings := []string{"tests", "Tests", "TESTS", "tEsts", "teSts"}
	for i, d := range ds {
		d.Steps[1].Status = spellings[i%len(spellings)]
	}
	want = "Steps named alike but for case are counted apart: `TESTS`, `Tests`, `tEsts` and 2 more;"
	if st := stats(t, ds); !strings.Contains(st.Summary, want) {
		t.Errorf("five spellings: summary lacks %q:\n%s", want, st.Summary)
	}
	for _, d := range ds {
		for i := range d.Steps {
			if d.Steps[i].Status != "tests" && model.FoldStatus(d.Steps[i].Status) == "tests" {
				d.Steps[i].Status = "tests"
			}
		}
	}
	if st := stats(t, ds); strings.Contains(st.Summary, "alike") {
		t.Errorf("one spelling, yet: %s", st.Summary)
	}
}
