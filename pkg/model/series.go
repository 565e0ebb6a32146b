package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxSeriesListed bounds Stats.Series: the series with the most
// deployments are listed, Stats.SeriesNotListed counts the others.
const MaxSeriesListed = 100

// seriesLarge is the part of the deployments (a quarter) a series must
// hold for the summary to say that it departs from the blend's direction
// (seriesSentence).
const seriesLarge = 0.25

// SeriesStats is one series of the deployments measured: a component in
// an environment, whose deployments the trend compares with each other
// only. The trend blends the series; this is the series' own.
type SeriesStats struct {
	Component   string `json:"component"`
	Environment string `json:"environment"`
	// Deployments counts the series' deployments measured, outliers
	// included, as Stats.Deployments does.
	Deployments int `json:"deployments"`
	// Trend is the series' own robust trend, by the method of the
	// blend's; its outliers are the series'.
	Trend RobustTrend `json:"trend"`
}

// seriesFit is the fit of one series (history.series[at]).
type seriesFit struct {
	at  int
	fit sen
}

// fitSeries fits the trend of each series Stats.Series lists (those with
// the most deployments, most first) on fitted, the points the blend's fit
// read by series: so the series' fits together compare no more pairs than
// the blend's, whose bound (trendMaxPairs) they share. A series reduced
// to runs for the blend is fitted on those runs, which keeps its interval
// valid on fewer points.
func (a *StatsAccumulator) fitSeries(fitted [][]point) []seriesFit {
	h := a.hist
	order := make([]int, len(h.series))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		sx, sy := h.series[x], h.series[y]
		return cmp.Or(cmp.Compare(sy.added, sx.added), strings.Compare(sx.key.component, sy.key.component),
			strings.Compare(sx.key.environment, sy.key.environment))
	})
	order = order[:min(len(order), MaxSeriesListed)]
	fits := make([]seriesFit, len(order))
	for i, si := range order {
		s := h.series[si]
		represented := s.added - s.outliers
		var fit sen
		if represented < MinTrendPoints || si >= len(fitted) {
			fit = sen{gap: gapFewPoints}
		} else {
			g := [][]point{fitted[si]}
			f, buf := senOf(g, nil)
			fit, _ = holdWithoutJunk(f, g, buf)
		}
		fit.points = represented
		fits[i] = seriesFit{at: si, fit: fit}
	}
	return fits
}

// listSeries fills Stats.Series and SeriesNotListed from the fits robust
// made.
func (a *StatsAccumulator) listSeries(st *Stats) {
	st.Series = make([]SeriesStats, 0, len(a.series))
	for _, f := range a.series {
		s := a.hist.series[f.at]
		st.Series = append(st.Series, SeriesStats{Component: s.key.component, Environment: s.key.environment,
			Deployments: s.added, Trend: f.fit.robust(a.opts.SprintDays, s.outliers)})
	}
	st.SeriesNotListed = len(a.hist.series) - len(st.Series)
}

// seriesSentence says what the trend blends when it blends several series:
// " The trend blends 3 series (component and environment)." When they
// diverge, it names them instead of the full stop: one growing while
// another shrinks, each by its own 95 % interval ("; api in production
// grows 12.0 % a week while web in production shrinks 8.0 % a week."),
// or else a series holding a quarter of the deployments or more
// (seriesLarge) whose direction is not the blend's and whose interval
// does not hold the blend's rate ("; api in production (62 % of the
// deployments) shows no clear trend (+0.1 % a week)."), after the
// largest series that goes the blend's way, if any. A series without an
// interval of its own (too few deployments) is never named. It is ""
// for one series or none.
func (a *StatsAccumulator) seriesSentence(st Stats) string {
	n := len(st.Series) + st.SeriesNotListed
	if n < 2 {
		return ""
	}
	head := fmt.Sprintf(" The trend blends %d series (component and environment)", n)
	var judged []SeriesStats // those with an interval, most deployments first
	for i, f := range a.series {
		if f.fit.gap == 0 && f.fit.ok {
			judged = append(judged, st.Series[i])
		}
	}
	first := func(direction string) *SeriesStats {
		for i := range judged {
			if judged[i].Trend.Direction == direction {
				return &judged[i]
			}
		}
		return nil
	}
	rate := func(s *SeriesStats) string {
		t := s.Trend
		switch t.Direction {
		case DirectionGrowing:
			return fmt.Sprintf("grows %.1f %% a week", PrintRound(t.GrowthPercentPerWeek, 1))
		case DirectionShrinking:
			return fmt.Sprintf("shrinks %.1f %% a week", PrintRound(-t.GrowthPercentPerWeek, 1))
		}
		return fmt.Sprintf("shows no clear trend (%+.1f %% a week)", PrintRound(t.GrowthPercentPerWeek, 1))
	}
	if g, s := first(DirectionGrowing), first(DirectionShrinking); g != nil && s != nil {
		return fmt.Sprintf("%s; %s %s while %s %s.", head, g.Name(), rate(g), s.Name(), rate(s))
	}
	blend := st.Trend.RobustTrend
	for i := range judged {
		x := &judged[i]
		share := float64(x.Deployments) / float64(max(st.Deployments, 1))
		if share < seriesLarge || x.Trend.Direction == blend.Direction ||
			x.Trend.GrowthPercentPerWeekLow <= blend.GrowthPercentPerWeek && blend.GrowthPercentPerWeek <= x.Trend.GrowthPercentPerWeekHigh {
			continue
		}
		departs := fmt.Sprintf("%s (%.0f %% of the deployments) %s", x.Name(), math.Floor(share*100), rate(x))
		if y := first(blend.Direction); y != nil && blend.Direction != DirectionFlat {
			return fmt.Sprintf("%s; %s %s while %s.", head, y.Name(), rate(y), departs)
		}
		return fmt.Sprintf("%s; %s.", head, departs)
	}
	return head + "."
}

// Name names the series as the summary does: "api in production", or
// "api" without an environment.
func (s SeriesStats) Name() string {
	if s.Environment == "" {
		return s.Component
	}
	return s.Component + " in " + s.Environment
}
