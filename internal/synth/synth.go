// Package synth generates deploy histories whose truth is known: how fast
// each component's deploys and each step grow, where a step jumps and by
// how much, and which deployments are junk. The accuracy tests of the
// robust trend and the change points score the estimators on them.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Step is one step of a series' deployments.
type Step struct {
	Status string
	// Share is the step's part of the deployment's base duration.
	Share float64
	// GrowthPercentPerWeek is the step's own compound growth.
	GrowthPercentPerWeek float64
	// SecondsPerWeek is a steady growth on top of it: the step lasts this
	// many seconds more each week (fewer when negative; the caller keeps
	// the step longer than 0). A step's seconds need not grow like
	// interest, and the shares of growth must read either.
	SecondsPerWeek float64
	// Runs is the part of the deployments the step runs in, drawn for
	// each deployment from a stream of its own (the other steps' seconds
	// are the same whatever it is); 0 is all of them.
	Runs float64
}

// Series is a component deployed to an environment.
type Series struct {
	Component, Environment string
	// BaseSeconds is the deployment's duration at the start, before noise.
	BaseSeconds float64
	Steps       []Step
}

// Jump makes a step of a series longer (or shorter) from a deployment on.
type Jump struct {
	Series int // index in Config.Series
	Step   string
	// At is the index, among the series' real deployments in time order,
	// of the first deployment with the jump.
	At      int
	Percent float64
}

// Config describes a history.
type Config struct {
	Seed  uint64
	Start time.Time
	Weeks float64
	// PerSeries is the number of real deployments of each series, spread
	// evenly (with jitter) over the weeks.
	PerSeries int
	Series    []Series
	// Noise is the standard deviation of the lognormal noise of each
	// step's duration (0.15 is about ±15 %).
	Noise float64
	Jumps []Jump
	// JunkRate is the number of junk deployments per real one: test
	// deploys under a second, and the first of them stuck for hours.
	// Junk comes from its own random stream, so the real deployments are
	// the same with or without it.
	JunkRate float64
	// Bursts is how many bursts of BurstSize one-second test deploys (a
	// minute apart, each successful) the history holds, at random times,
	// from the junk stream after the JunkRate junk. BurstSize 0 is 10.
	Bursts, BurstSize int
	// FailRate is the number of failed deployments per real one: a real
	// deployment's first steps, then "failed". They come from a stream of
	// their own.
	FailRate float64
	// RetryRate is the share of real deployments that run one of their
	// steps twice in a row (a retry: the step's status recorded again),
	// which makes them longer. Retries come from a stream of their own, so
	// the deployments' other phases and times are the same without them.
	RetryRate float64
}

// Truth is what the estimators should find.
type Truth struct {
	// GrowthPercentPerWeek is the deployments' compound growth: the
	// least-squares slope of the log of their noiseless durations, within
	// each series, averaged over the series.
	GrowthPercentPerWeek float64
	// Blamed is the step growing the most in seconds a week.
	Blamed string
	// StepGrowthSecondsPerWeek is each step's growth in seconds a week,
	// averaged over the real deployments (0 in those it did not run in):
	// its contribution to the deployments' growth.
	StepGrowthSecondsPerWeek map[string]float64
	Jumps                    []JumpTruth
	// Junk counts the junk deployments, bursts included.
	Junk int
	// Failed counts the failed deployments.
	Failed int
}

// JumpTruth is a jump as the deployments see it.
type JumpTruth struct {
	Component, Environment string
	// Index is the jump's first deployment among the series' real ones.
	Index   int
	Time    time.Time
	Version string
	// Percent is the shift of the deployment's noiseless duration.
	Percent float64
}

// Generate builds the history of cfg: the deployments, real and junk, in
// time order, and the truth.
func Generate(cfg Config) ([]*model.Deployment, Truth) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	junkRng := rand.New(rand.NewPCG(cfg.Seed, 2))
	retryRng := rand.New(rand.NewPCG(cfg.Seed, 3))
	failRng := rand.New(rand.NewPCG(cfg.Seed, 4))
	runRng := rand.New(rand.NewPCG(cfg.Seed, 5))
	week := 7 * 24 * time.Hour
	truth := Truth{StepGrowthSecondsPerWeek: map[string]float64{}}
	var out []*model.Deployment
	var slopes float64
	real := 0
	for si, s := range cfg.Series {
		var xs, ys []float64
		for i := range cfg.PerSeries {
			weeks := cfg.Weeks * (float64(i) + 0.1 + 0.8*rng.Float64()) / float64(cfg.PerSeries)
			at := cfg.Start.Add(time.Duration(weeks * float64(week)))
			statuses := make([]string, 0, len(s.Steps))
			seconds := make([]float64, 0, len(s.Steps))
			var clean, cleanNoJump float64
			for _, st := range s.Steps {
				compound := s.BaseSeconds * st.Share * math.Pow(1+st.GrowthPercentPerWeek/100, weeks)
				base := compound + st.SecondsPerWeek*weeks
				v := base
				for _, j := range cfg.Jumps {
					if j.Series == si && j.Step == st.Status && i >= j.At {
						v *= 1 + j.Percent/100
					}
				}
				// The noise is drawn for a step that does not run too, so
				// that the others' is the same.
				noisy := v * math.Exp(rng.NormFloat64()*cfg.Noise)
				if st.Runs > 0 && st.Runs < 1 && runRng.Float64() >= st.Runs {
					continue
				}
				statuses = append(statuses, st.Status)
				seconds = append(seconds, noisy)
				clean += v
				cleanNoJump += base
				grows := math.Log(1+st.GrowthPercentPerWeek/100) * v
				if st.SecondsPerWeek != 0 {
					grows = (math.Log(1+st.GrowthPercentPerWeek/100)*compound + st.SecondsPerWeek) * v / base
				}
				truth.StepGrowthSecondsPerWeek[st.Status] += grows
			}
			if cfg.RetryRate > 0 && retryRng.Float64() < cfg.RetryRate {
				k := retryRng.IntN(len(statuses))
				again := seconds[k] * math.Exp(retryRng.NormFloat64()*cfg.Noise)
				statuses = slices.Insert(statuses, k+1, statuses[k])
				seconds = slices.Insert(seconds, k+1, again)
			}
			version := fmt.Sprintf("1.%d.0", i)
			out = append(out, Deployment(s.Component, version, s.Environment, at, statuses, seconds))
			xs = append(xs, weeks)
			ys = append(ys, math.Log(cleanNoJump))
			real++
			for _, j := range cfg.Jumps {
				if j.Series == si && i == j.At {
					var share float64
					for _, st := range s.Steps {
						if st.Status == j.Step {
							share = (s.BaseSeconds*st.Share*math.Pow(1+st.GrowthPercentPerWeek/100, weeks) + st.SecondsPerWeek*weeks) / cleanNoJump
						}
					}
					truth.Jumps = append(truth.Jumps, JumpTruth{Component: s.Component, Environment: s.Environment,
						Index: i, Time: at, Version: version, Percent: share * j.Percent})
				}
			}
		}
		slopes += leastSquares(xs, ys)
	}
	if len(cfg.Series) > 0 {
		truth.GrowthPercentPerWeek = (math.Exp(slopes/float64(len(cfg.Series))) - 1) * 100
	}
	var best float64
	for status, g := range truth.StepGrowthSecondsPerWeek {
		g /= float64(max(real, 1))
		truth.StepGrowthSecondsPerWeek[status] = g
		if truth.Blamed == "" || g > best || (g == best && status < truth.Blamed) {
			truth.Blamed, best = status, g
		}
	}

	truth.Junk = int(math.Round(cfg.JunkRate * float64(real)))
	for j := range truth.Junk {
		s := cfg.Series[junkRng.IntN(len(cfg.Series))]
		at := cfg.Start.Add(time.Duration(junkRng.Float64() * cfg.Weeks * float64(week)))
		total := 0.2 + 0.7*junkRng.Float64() // a test deploy: under a second
		if j == 0 {
			total = 3600 * (8 + 16*junkRng.Float64()) // stuck for hours
		}
		statuses := make([]string, len(s.Steps))
		seconds := make([]float64, len(s.Steps))
		for k, st := range s.Steps {
			statuses[k] = st.Status
			seconds[k] = total / float64(len(s.Steps))
		}
		out = append(out, Deployment(s.Component, fmt.Sprintf("test-%d", j), s.Environment, at, statuses, seconds))
	}
	size := cfg.BurstSize
	if size == 0 {
		size = 10
	}
	for b := range cfg.Bursts {
		s := cfg.Series[junkRng.IntN(len(cfg.Series))]
		at := cfg.Start.Add(time.Duration(junkRng.Float64() * cfg.Weeks * float64(week)))
		for k := range size {
			statuses := make([]string, len(s.Steps))
			seconds := make([]float64, len(s.Steps))
			for j, st := range s.Steps {
				statuses[j] = st.Status
				seconds[j] = (0.5 + junkRng.Float64()) / float64(len(s.Steps))
			}
			out = append(out, Deployment(s.Component, fmt.Sprintf("burst-%d-%d", b, k), s.Environment,
				at.Add(time.Duration(k)*time.Minute), statuses, seconds))
			truth.Junk++
		}
	}
	truth.Failed = int(math.Round(cfg.FailRate * float64(real)))
	for j := range truth.Failed {
		s := cfg.Series[failRng.IntN(len(cfg.Series))]
		weeks := failRng.Float64() * cfg.Weeks
		at := cfg.Start.Add(time.Duration(weeks * float64(week)))
		n := 1 + failRng.IntN(len(s.Steps))
		statuses := make([]string, n)
		seconds := make([]float64, n)
		for k, st := range s.Steps[:n] {
			statuses[k] = st.Status
			seconds[k] = s.BaseSeconds * st.Share * math.Pow(1+st.GrowthPercentPerWeek/100, weeks) * math.Exp(failRng.NormFloat64()*cfg.Noise)
		}
		d := Deployment(s.Component, fmt.Sprintf("failed-%d", j), s.Environment, at, statuses, seconds)
		d.Steps[len(d.Steps)-1].Status = "failed"
		d.Outcome = model.OutcomeFailure
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b *model.Deployment) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, truth
}

// Deployment builds a successful deployment of steps lasting seconds each,
// ended by a "finished" step.
func Deployment(component, version, environment string, at time.Time, statuses []string, seconds []float64) *model.Deployment {
	d := &model.Deployment{Component: component, Version: version, Environment: environment, Attempt: 1, Owner: "synth",
		StartedAt: at, Outcome: model.OutcomeSuccess}
	t := at
	for i, status := range statuses {
		s := seconds[i]
		d.Steps = append(d.Steps, model.Phase{ID: int64(i + 1), Status: status, Time: t, DurationSeconds: &s})
		t = t.Add(time.Duration(s * float64(time.Second)))
	}
	d.Steps = append(d.Steps, model.Phase{ID: int64(len(statuses) + 1), Status: "finished", Time: t})
	d.FinishedAt = &t
	d.DurationSeconds = t.Sub(at).Seconds()
	return d
}

// leastSquares returns the slope of ys over xs.
func leastSquares(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}
