package model

import (
	"fmt"
	"math"
	"strings"
)

// The words of the blame, of change points and of the DORA keys, shared by
// the page and stepsctl so that both say the same thing about the same
// figures. (The trend's own sentence is Stats.Summary.)

// BlamePhrase names the steps to blame for the growth, with their shares
// and their own growth: "migrate accounts for 70 % of the growth (+4.1 % a
// week)"; a second one adds ", tests for 21 % (+0.6 % a week)". It is ""
// when nothing is blamed.
func BlamePhrase(st Stats) string {
	var parts []string
	for i, name := range st.Trend.Blame {
		var step *StepStats
		for j := range st.Steps {
			if st.Steps[j].Status == name {
				step = &st.Steps[j]
				break
			}
		}
		if step == nil || step.ShareOfGrowthPercent == nil {
			parts = append(parts, name)
			continue
		}
		share, growth := *step.ShareOfGrowthPercent, step.Trend.GrowthPercentPerWeek
		if i == 0 {
			parts = append(parts, fmt.Sprintf("%s accounts for %.0f %% of the growth (%+.1f %% a week)", name, PrintRound(share, 0), PrintRound(growth, 1)))
		} else {
			parts = append(parts, fmt.Sprintf("%s for %.0f %% (%+.1f %% a week)", name, PrintRound(share, 0), PrintRound(growth, 1)))
		}
	}
	return strings.Join(parts, ", ")
}

// StepChangePhrase says how a step moved at a change: "tests +3m10s
// (92 %)", its share of the change in brackets.
func StepChangePhrase(s StepChange) string {
	sign := "+"
	if s.ChangeSeconds < 0 {
		sign = "-"
	}
	return fmt.Sprintf("%s %s%s (%.0f %%)", s.Status, sign, HumanDuration(math.Abs(s.ChangeSeconds)), PrintRound(s.ShareOfChangePercent, 0))
}

// MovedSteps picks the steps worth naming at a change: the first, and
// the next ones while they carry a tenth of the change or more, at most
// three.
func MovedSteps(c Change) []StepChange {
	var out []StepChange
	for i, s := range c.Steps {
		if i == 3 || (i > 0 && math.Abs(s.ShareOfChangePercent) < 10) {
			break
		}
		out = append(out, s)
	}
	return out
}

// PrintRound rounds v to decimals places for printing, and never to -0:
// a flat step reads "+0.0 %", not "-0.0 %".
func PrintRound(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	r := math.Round(v*p) / p
	if r == 0 {
		return 0
	}
	return r
}

// FrequencyPhrase says a rate per day as people count deploys: "3.2 a
// day", "2.5 a week", "0.8 a month" (of 30 days), or "none".
func FrequencyPhrase(perDay float64) string {
	switch {
	case perDay == 0:
		return "none"
	case perDay >= 1:
		return fmt.Sprintf("%.1f a day", perDay)
	case perDay*7 >= 1:
		return fmt.Sprintf("%.1f a week", perDay*7)
	}
	return fmt.Sprintf("%.1f a month", perDay*30)
}
