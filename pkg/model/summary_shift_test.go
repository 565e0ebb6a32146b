package model_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSummaryNamesTheShiftItCountsIn: a history flat but for one jump of
// deploy time reads as a rate ("grows 0.9 % a week"); the sentence that
// gives the rate names the shift, with the day and size GET /v1/changes
// gives, and says the rate counts it in. A steady growth has no such
// clause, nor has a flat sentence.
func TestSummaryNamesTheShiftItCountsIn(t *testing.T) {
	history := func(seed uint64, g float64, jumps []synth.Jump) []*model.Deployment {
		ds, _ := synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 120,
			Series: growthSeries(g)[:1], Noise: 0.1, Jumps: jumps})
		return ds
	}
	accumulate := func(ds []*model.Deployment) *model.StatsAccumulator {
		opts := model.StatsOptions{SprintStart: accuracyStart}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		for _, d := range ds {
			acc.Add(d)
		}
		return acc
	}
	const clause = "the rate counts the shift"
	named := 0
	for seed := range uint64(5) {
		ds := history(seed, 0, []synth.Jump{{Series: 0, Step: "tests", At: 60, Percent: 100}})
		acc := accumulate(ds)
		st := acc.Result()
		cs := acc.Changes().Changes
		if st.Trend.Direction != model.DirectionGrowing {
			if strings.Contains(st.Summary, clause) {
				t.Errorf("seed %d: a sentence without a rate names a shift: %s", seed, st.Summary)
			}
			continue
		}
		if len(cs) != 1 {
			t.Fatalf("seed %d: %d changes found, want the one jump: %+v", seed, len(cs), cs)
		}
		want := fmt.Sprintf("Deploy time shifted at once on %s (api in production, %+.0f %%): the rate counts the shift in, as if it were steady.",
			cs[0].Time.UTC().Format(time.DateOnly), cs[0].ChangePercent)
		if !strings.Contains(st.Summary, want) {
			t.Errorf("seed %d: summary lacks %q:\n%s", seed, want, st.Summary)
		}
		named++
	}
	if named < 4 {
		t.Errorf("only %d of 5 jumps read as growth: the test checks too little", named)
	}
	// Two jumps: both named, in time order.
	ds := history(7, 0, []synth.Jump{{Series: 0, Step: "tests", At: 40, Percent: 100}, {Series: 0, Step: "build", At: 80, Percent: 200}})
	acc := accumulate(ds)
	if st, cs := acc.Result(), acc.Changes().Changes; len(cs) != 2 {
		t.Errorf("two jumps: %d changes found", len(cs))
	} else {
		want := fmt.Sprintf("Deploy time shifted at once 2 times (api in production on %s, %+.0f %%; api in production on %s, %+.0f %%): the rate counts the shifts in, as if they were steady.",
			cs[0].Time.UTC().Format(time.DateOnly), cs[0].ChangePercent, cs[1].Time.UTC().Format(time.DateOnly), cs[1].ChangePercent)
		if !strings.Contains(st.Summary, want) {
			t.Errorf("two jumps: summary lacks %q:\n%s", want, st.Summary)
		}
	}
	for seed := range uint64(5) {
		st := stats(t, history(seed, 2, nil))
		if st.Trend.Direction != model.DirectionGrowing || strings.Contains(st.Summary, clause) {
			t.Errorf("seed %d: steady growth of 2 %% a week: direction %s, summary %s", seed, st.Trend.Direction, st.Summary)
		}
	}
}
