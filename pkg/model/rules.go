package model

import "time"

// RulesDocument is how GET /v1/rules states a server's DeploymentRules:
// which statuses end a deployment, as a success or a failure, and after how
// long without a step one in progress is stuck. Clients that record steps
// (stepsctl run) choose their terminal statuses from it.
type RulesDocument struct {
	SuccessStatuses   []string `json:"success_statuses"`
	FailureStatuses   []string `json:"failure_statuses"`
	StuckAfterSeconds float64  `json:"stuck_after_seconds"`
}

// Document returns the rules as GET /v1/rules states them.
func (r DeploymentRules) Document() RulesDocument {
	return RulesDocument{SuccessStatuses: r.SuccessStatuses, FailureStatuses: r.FailureStatuses, StuckAfterSeconds: r.StuckAfter.Seconds()}
}

// Rules returns the rules the document states.
func (d RulesDocument) Rules() DeploymentRules {
	return DeploymentRules{SuccessStatuses: d.SuccessStatuses, FailureStatuses: d.FailureStatuses,
		StuckAfter: time.Duration(d.StuckAfterSeconds * float64(time.Second))}
}
