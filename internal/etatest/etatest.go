// Package etatest is a crafted deploy history whose ETAs were computed by
// hand: the model, the store (SQLite and MariaDB) and the HTTP API are
// each held to the same answers.
package etatest

import (
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Now is when the running deployments are looked at.
var Now = time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)

// t0 is when the history starts: the k-th past deployment starts k hours
// later.
var t0 = Now.Add(-8 * time.Hour)

// Want is the hand-computed ETA of one running deployment: ok false means
// null (not enough history).
type Want struct {
	Component, Version, Environment string
	OK                              bool
	ETASeconds                      float64
	ExpectedDurationSeconds         float64
	// Overdue: the current phase has run past its usual length
	// (median(remaining) − median(rest)), in any phase.
	Overdue bool
}

// ExpectedFinishAt is when w expects its deployment to finish.
func (w Want) ExpectedFinishAt() time.Time {
	return Now.Add(time.Duration(w.ETASeconds * float64(time.Second)))
}

// Steps is the history and the running deployments, in time order.
//
// Six successful deployments of api to prod (build, tests, deploy,
// finished), the phases lasting:
//
//	build  60  70  80  90 100 200
//	tests 100 100 110 120 130 500
//	deploy 30  30  40  40  50  60
//
// From build, remaining (the whole deploy) is 190 200 230 250 280 760:
// median 240; rest after build (tests + deploy) 130 130 150 160 180 560:
// median 155. From tests, remaining 155, rest (deploy) 40. From deploy,
// remaining 40, rest 0. A failed api deploy to prod and a successful one to
// staging would change these medians if they were counted; they must not
// be. Nor must a test deploy of api to prod (1.t, three phases of 0.2 s)
// among the six: 0.6 s is under a tenth of the median of its neighbours
// (240 s), an outlier by the rule of the stats, left out (model.ETAPast).
// Counted, remaining from build would be 0.6 190 200 230 250 280 760,
// median 230, and r-build's eta 200. web to prod has four successful
// deployments only: not enough.
func Steps() []model.StepInput {
	var out []model.StepInput
	add := func(component, version, env string, at time.Time, phases ...any) {
		for i := 0; i < len(phases); i += 2 {
			out = append(out, model.StepInput{Component: component, Version: version, Environment: env, Owner: "ana",
				Status: phases[i].(string), Time: at})
			if i+1 < len(phases) {
				at = at.Add(time.Duration(phases[i+1].(int)) * time.Second)
			}
		}
	}
	table := [][3]int{{60, 100, 30}, {70, 100, 30}, {80, 110, 40}, {90, 120, 40}, {100, 130, 50}, {200, 500, 60}}
	for k, d := range table {
		add("api", "1."+string(rune('0'+k)), "prod", t0.Add(time.Duration(k)*time.Hour), "build", d[0], "tests", d[1], "deploy", d[2], "finished")
	}
	test := t0.Add(2*time.Hour + 30*time.Minute)
	for i, status := range []string{"build", "tests", "deploy", "finished"} {
		out = append(out, model.StepInput{Component: "api", Version: "1.t", Environment: "prod", Owner: "ana", Status: status,
			Time: test.Add(time.Duration(i) * 200 * time.Millisecond)})
	}
	add("api", "1.6", "prod", t0.Add(6*time.Hour), "build", 10, "failed")
	add("api", "1.6", "staging", t0.Add(6*time.Hour+30*time.Minute), "build", 1000, "tests", 1000, "deploy", 1000, "finished")
	for k := range 4 {
		add("web", "2."+string(rune('0'+k)), "prod", t0.Add(time.Duration(k)*time.Hour), "build", 60, "finished")
	}
	// The running deployments, each at a step by Now.
	ago := func(s int) time.Time { return Now.Add(-time.Duration(s) * time.Second) }
	add("api", "r-build", "prod", ago(30), "build")
	add("api", "r-tests", "prod", ago(130), "build", 80, "tests")
	add("api", "r-deploy", "prod", ago(210), "build", 80, "tests", 120, "deploy")
	add("api", "r-tests-overrun", "prod", ago(480), "build", 80, "tests")
	add("api", "r-deploy-overrun", "prod", ago(300), "build", 80, "tests", 120, "deploy")
	add("api", "r-canary", "prod", ago(60), "build", 30, "canary")
	add("web", "r-build", "prod", ago(30), "build")
	return sortByTime(out)
}

// Wants are the running deployments' ETAs, by hand:
//
//	r-build           build 30 s:  eta max(240−30, 155) = 210, duration 30+210
//	r-tests           tests 50 s:  eta max(155−50, 40) = 105, duration 130+105
//	r-deploy          deploy 10 s: eta max(40−10, 0) = 30, duration 210+30
//	r-tests-overrun   tests 400 s: eta max(155−400, 40) = 40, duration 480+40;
//	                  overdue: tests usually last 155−40 = 115 s
//	r-deploy-overrun  deploy 100 s: eta max(40−100, 0) = 0, duration 300;
//	                  overdue: deploy usually lasts 40 s
//	r-canary          no past deployment went through canary: null
//	web r-build       four past deployments only: null
func Wants() []Want {
	return []Want{
		{"api", "r-build", "prod", true, 210, 240, false},
		{"api", "r-tests", "prod", true, 105, 235, false},
		{"api", "r-deploy", "prod", true, 30, 240, false},
		{"api", "r-tests-overrun", "prod", true, 40, 520, true},
		{"api", "r-deploy-overrun", "prod", true, 0, 300, true},
		{"api", "r-canary", "prod", false, 0, 0, false},
		{"web", "r-build", "prod", false, 0, 0, false},
	}
}

func sortByTime(steps []model.StepInput) []model.StepInput {
	for i := 1; i < len(steps); i++ {
		for j := i; j > 0 && steps[j].Time.Before(steps[j-1].Time); j-- {
			steps[j], steps[j-1] = steps[j-1], steps[j]
		}
	}
	return steps
}
