package model

import (
	"fmt"
	"math"
	"strings"
)

// The words of the robust trend, shared by the page and stepsctl so that
// both say the same thing about the same figures.

// TrendPhrase says a robust trend in words: "grows 1.5 % a week (1.1–1.9 %)",
// "shrinks 0.8 % a week (0.2–1.4 %)", or, when the direction is flat,
// "no clear trend (-0.3 to +0.8 % a week)". It is "" when the trend names
// no direction (a server without the robust fit).
func TrendPhrase(t RobustTrend) string {
	switch t.Direction {
	case DirectionGrowing, DirectionShrinking:
		verb := "grows"
		if t.Direction == DirectionShrinking {
			verb = "shrinks"
		}
		lo, hi := math.Abs(t.GrowthPercentPerWeekLow), math.Abs(t.GrowthPercentPerWeekHigh)
		if lo > hi {
			lo, hi = hi, lo
		}
		return fmt.Sprintf("%s %.1f %% a week (%.1f–%.1f %%)", verb, math.Abs(t.GrowthPercentPerWeek), lo, hi)
	case DirectionFlat:
		if t.GrowthPercentPerWeekLow < t.GrowthPercentPerWeekHigh {
			return fmt.Sprintf("no clear trend (%+.1f to %+.1f %% a week)", t.GrowthPercentPerWeekLow, t.GrowthPercentPerWeekHigh)
		}
		return "no clear trend"
	}
	return ""
}

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
			parts = append(parts, fmt.Sprintf("%s accounts for %.0f %% of the growth (%+.1f %% a week)", name, share, growth))
		} else {
			parts = append(parts, fmt.Sprintf("%s for %.0f %% (%+.1f %% a week)", name, share, growth))
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
	return fmt.Sprintf("%s %s%s (%.0f %%)", s.Status, sign, HumanDuration(math.Abs(s.ChangeSeconds)), s.ShareOfChangePercent)
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
