package model

import "testing"

func TestTrendPhrase(t *testing.T) {
	for _, tc := range []struct {
		t    RobustTrend
		want string
	}{
		{RobustTrend{GrowthPercentPerWeek: 1.5, GrowthPercentPerWeekLow: 1.1, GrowthPercentPerWeekHigh: 1.94, Direction: DirectionGrowing}, "grows 1.5 % a week (1.1–1.9 %)"},
		{RobustTrend{GrowthPercentPerWeek: -0.8, GrowthPercentPerWeekLow: -1.4, GrowthPercentPerWeekHigh: -0.2, Direction: DirectionShrinking}, "shrinks 0.8 % a week (0.2–1.4 %)"},
		{RobustTrend{GrowthPercentPerWeek: 0.2, GrowthPercentPerWeekLow: -0.3, GrowthPercentPerWeekHigh: 0.8, Direction: DirectionFlat}, "no clear trend (-0.3 to +0.8 % a week)"},
		{RobustTrend{Direction: DirectionFlat}, "no clear trend"},
		{RobustTrend{GrowthPercentPerWeek: 3}, ""},
	} {
		if got := TrendPhrase(tc.t); got != tc.want {
			t.Errorf("TrendPhrase(%+v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestBlamePhrase(t *testing.T) {
	share := func(v float64) *float64 { return &v }
	st := Stats{
		Steps: []StepStats{
			{Status: "tests", Trend: RobustTrend{GrowthPercentPerWeek: 0.6}, ShareOfGrowthPercent: share(21)},
			{Status: "migrate", Trend: RobustTrend{GrowthPercentPerWeek: 4.1}, ShareOfGrowthPercent: share(70.4)},
		},
		Trend: Trend{Blame: []string{"migrate", "tests"}},
	}
	want := "migrate accounts for 70 % of the growth (+4.1 % a week), tests for 21 % (+0.6 % a week)"
	if got := BlamePhrase(st); got != want {
		t.Errorf("BlamePhrase = %q, want %q", got, want)
	}
	st.Trend.Blame = nil
	if got := BlamePhrase(st); got != "" {
		t.Errorf("nothing blamed: %q", got)
	}
}

func TestStepChangePhrase(t *testing.T) {
	c := Change{Steps: []StepChange{
		{Status: "tests", ChangeSeconds: 190, ShareOfChangePercent: 92},
		{Status: "build", ChangeSeconds: 14, ShareOfChangePercent: 7},
	}}
	moved := MovedSteps(c)
	if len(moved) != 1 || StepChangePhrase(moved[0]) != "tests +3m10s (92 %)" {
		t.Errorf("moved %v: %q", moved, StepChangePhrase(moved[0]))
	}
	if got := StepChangePhrase(StepChange{Status: "migrate", ChangeSeconds: -75, ShareOfChangePercent: 40}); got != "migrate -1m15s (40 %)" {
		t.Errorf("shrinking step: %q", got)
	}
}
