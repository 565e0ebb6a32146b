package model

import (
	"fmt"
	"testing"
)

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

func TestPrintRound(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		d    int
		want string
	}{{-0.04, 1, "+0.0"}, {-0.05, 1, "-0.1"}, {-0.4, 0, "+0"}, {2.349, 1, "+2.3"}} {
		f := "%+.1f"
		if tc.d == 0 {
			f = "%+.0f"
		}
		if got := fmt.Sprintf(f, PrintRound(tc.v, tc.d)); got != tc.want {
			t.Errorf("PrintRound(%g, %d) prints %q, want %q", tc.v, tc.d, got, tc.want)
		}
	}
}

func TestFrequencyPhrase(t *testing.T) {
	for perDay, want := range map[float64]string{
		0:        "none",
		3.2:      "3.2 a day",
		1:        "1.0 a day",
		0.5:      "3.5 a week",
		1.0 / 7:  "1.0 a week",
		1.0 / 30: "1.0 a month",
	} {
		if got := FrequencyPhrase(perDay); got != want {
			t.Errorf("FrequencyPhrase(%g) = %q, want %q", perDay, got, want)
		}
	}
}
