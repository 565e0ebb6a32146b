package model

import "time"

// This file is the contract of the robust analysis (issue 12): the types the
// API, the client, the CLI and the page read, and the functions that fill
// them. The estimators behind them live in trend.go and changes.go.

// Directions of a trend.
const (
	DirectionGrowing   = "growing"
	DirectionShrinking = "shrinking"
	DirectionFlat      = "flat"
)

// RobustTrend is a growth rate that a few junk deployments cannot swing,
// with its 95 % interval. It is embedded in Trend (the deployment's) and
// carried by each StepStats (the step's own).
type RobustTrend struct {
	// GrowthPercentPerWeek is the compound growth of duration per week,
	// from a robust fit of log duration over time.
	GrowthPercentPerWeek   float64 `json:"growth_percent_per_week"`
	GrowthPercentPerSprint float64 `json:"growth_percent_per_sprint"`
	// GrowthPercentPerWeekLow and High bound the 95 % interval.
	GrowthPercentPerWeekLow  float64 `json:"growth_percent_per_week_low"`
	GrowthPercentPerWeekHigh float64 `json:"growth_percent_per_week_high"`
	// Direction is growing, shrinking or flat: flat when the interval
	// holds 0 or there are too few deployments to say.
	Direction string `json:"direction"`
	// Method names the estimator, e.g. "theil-sen".
	Method string `json:"method"`
	// Outliers counts the deployments (or phases) the fit left out.
	Outliers int `json:"outliers"`
	// Points counts the deployments (or phases) the fit used.
	Points int `json:"points"`
}

// OutlierRef names a deployment the analysis left out as junk: far from
// its neighbours of the same component and environment. It is never
// dropped from lists or exports.
type OutlierRef struct {
	Component       string    `json:"component"`
	Version         string    `json:"version"`
	Environment     string    `json:"environment"`
	Attempt         int       `json:"attempt"`
	StartedAt       time.Time `json:"started_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	// MedianSeconds is the rolling median it was compared with.
	MedianSeconds float64 `json:"median_seconds"`
}

// MaxOutlierRefs bounds Stats.Outliers: the count in the trend is exact,
// the list names the first ones only.
const MaxOutlierRefs = 100

// ChangesOptions shape a change-point request.
type ChangesOptions struct {
	// Outcome selects the deployments measured, as in StatsOptions.
	Outcome string
}

// Validate checks the options and fills in defaults.
func (o *ChangesOptions) Validate() error {
	switch o.Outcome {
	case "":
		o.Outcome = OutcomeSuccess
	case OutcomeSuccess, OutcomeFailure, "all":
	default:
		return Invalid("outcome", "outcome must be success, failure or all, not %s", Quote(o.Outcome))
	}
	return nil
}

// Changes are the moments a component's deploy time shifted.
type Changes struct {
	Changes []Change `json:"changes"`
}

// Change is one shift of a component's deploy time in one environment.
// Time, Version and Attempt are those of the first deployment after it.
type Change struct {
	Component        string       `json:"component"`
	Environment      string       `json:"environment"`
	Time             time.Time    `json:"time"`
	Version          string       `json:"version"`
	Attempt          int          `json:"attempt"`
	BeforeP50Seconds float64      `json:"before_p50_seconds"`
	AfterP50Seconds  float64      `json:"after_p50_seconds"`
	ChangePercent    float64      `json:"change_percent"`
	PValue           float64      `json:"p_value"`
	Steps            []StepChange `json:"steps"`
}

// StepChange is how one step moved at a change, largest ChangeSeconds
// first.
type StepChange struct {
	Status               string  `json:"status"`
	BeforeP50Seconds     float64 `json:"before_p50_seconds"`
	AfterP50Seconds      float64 `json:"after_p50_seconds"`
	ChangeSeconds        float64 `json:"change_seconds"`
	ShareOfChangePercent float64 `json:"share_of_change_percent"`
}

// ChangesAccumulator, which fills Changes, is in changes.go.
