package model_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// The accuracy of the DORA four keys, scored on histories whose truth is
// known (synth.GenerateDORA). docs/analysis.md gives the scores;
// `go test ./pkg/model -run TestAccuracyDORA -v` prints them.

// doraAccuracyConfig is the history TestAccuracyDORA scores, and the
// server's end-to-end test posts: two components deploying ten changes a
// week for eight weeks, 15 % of them failing and restored 20 minutes to 6
// hours later.
func doraAccuracyConfig(seed uint64, junk bool) synth.DORAConfig {
	// The server's TestDORAAccuracyEndToEnd posts seed 7 of this.
	return synth.DORAConfig{Seed: seed, Start: time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC), Weeks: 8,
		Components: []string{"api", "web"}, PerWeek: 10, FailureRate: 0.15,
		RestoreMin: 20 * time.Minute, RestoreMax: 6 * time.Hour, Junk: junk, TestBurst: 12}
}

// deploymentsOf builds the deployments of steps as the store numbers them
// (grouped by component, version and environment, in time order), each
// with the latest commit time of its steps, in start order.
func deploymentsOf(t testing.TB, steps []model.StepInput, now time.Time) []*model.Deployment {
	t.Helper()
	idx := make([]int, len(steps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := steps[a], steps[b]
		return cmp.Or(cmp.Compare(x.Component, y.Component), cmp.Compare(x.Version, y.Version),
			cmp.Compare(x.Environment, y.Environment), x.Time.Compare(y.Time), cmp.Compare(a, b))
	})
	var out []*model.Deployment
	b := model.NewDeploymentBuilder(model.DefaultDeploymentRules(), now, func(d *model.Deployment) error {
		for _, p := range d.Steps {
			if c := steps[p.ID].CommittedAt; !c.IsZero() {
				d.CommittedAt = &c
			}
		}
		out = append(out, d)
		return nil
	})
	for _, i := range idx {
		s := steps[i]
		step := model.Step{ID: int64(i), Component: s.Component, Version: s.Version, Owner: s.Owner, Status: s.Status,
			Environment: s.Environment, Time: s.Time}
		if err := b.Add(model.DeploymentStep{Step: step}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(out, func(a, b *model.Deployment) int { return a.Key().Compare(b.Key()) })
	return out
}

// doraOf is the overall four keys of the deployments in environment env
// ("" for all) over the truth's period.
func doraOf(t *testing.T, ds []*model.Deployment, truth synth.DORATruth, env string) model.DORAFigures {
	t.Helper()
	var sel []*model.Deployment
	for _, d := range ds {
		if env == "" || d.Environment == env {
			sel = append(sel, d)
		}
	}
	return doraResult(t, model.DORAOptions{Bucket: model.BucketWeek, Since: truth.Since, Until: truth.Until,
		Now: truth.Until.Add(24 * time.Hour)}, sel).Overall.DORAFigures
}

type burstCheck struct {
	name      string
	got, want float64
}

// doraScore is one figure's errors over the histories.
type doraScore struct {
	name   string
	unit   string
	errs   []float64
	truths []float64
}

func (s *doraScore) add(truth float64, got *float64) {
	s.truths = append(s.truths, truth)
	if got == nil {
		s.errs = append(s.errs, math.Inf(1))
		return
	}
	s.errs = append(s.errs, *got-truth)
}

func (s *doraScore) String() string {
	abs := make([]float64, len(s.errs))
	var sum float64
	for i, e := range s.errs {
		abs[i] = math.Abs(e)
		sum += e
	}
	return fmt.Sprintf("%-22s truth median %9.3f  error mean %+9.3f  worst |%.3f| %s",
		s.name, quantile(slices.Clone(s.truths), 0.5), sum/float64(len(s.errs)), slices.Max(abs), s.unit)
}

func (s *doraScore) worst() float64 {
	w := 0.0
	for _, e := range s.errs {
		w = max(w, math.Abs(e))
	}
	return w
}

// TestAccuracyDORA scores the four keys against the truth of 40 histories
// of two components deploying to production, with and without junk
// (retried attempts of the same version, terminal steps sent twice, a
// deploy stuck in progress, a step recorded hours late, a commit time
// ahead of the deploy, deployments without a revision, a staging
// environment, a burst of test deploys).
func TestAccuracyDORA(t *testing.T) {
	t.Parallel()
	n := trials(40)
	type run struct {
		name  string
		junk  bool
		burst int // test deploys in the burst
		env   string
	}
	for _, r := range []run{
		{"clean", false, 0, "production"},
		{"junk but the burst, environment=production", true, 0, "production"},
		{"junk, environment=production", true, 12, "production"},
		{"junk, no environment", true, 12, ""},
	} {
		freq := &doraScore{name: "frequency", unit: "a day"}
		cfr := &doraScore{name: "change failure rate", unit: "points"}
		ttr := &doraScore{name: "time to restore p50", unit: "minutes"}
		lead := &doraScore{name: "lead time p50", unit: "minutes"}
		cov := &doraScore{name: "lead time coverage", unit: "points"}
		bands := 0
		var cfg synth.DORAConfig
		var burst []burstCheck
		for i := range n {
			cfg = doraAccuracyConfig(uint64(i), r.junk)
			cfg.TestBurst = r.burst
			steps, truth := synth.GenerateDORA(cfg)
			ds := deploymentsOf(t, steps, truth.Until.Add(24*time.Hour))
			got := doraOf(t, ds, truth, r.env)
			freq.add(truth.FrequencyPerDay(), got.DeploymentFrequencyPerDay)
			cfr.add(truth.ChangeFailureRatePercent(), got.ChangeFailureRatePercent)
			minutes := func(v *float64) *float64 {
				if v == nil {
					return nil
				}
				m := *v / 60
				return &m
			}
			ttr.add(truth.RestoreP50Seconds()/60, minutes(got.TimeToRestoreP50Seconds))
			lead.add(truth.LeadP50Seconds()/60, minutes(got.LeadTimeP50Seconds))
			cov.add(truth.CoveragePercent(), got.LeadTimeCoveragePercent)
			want := model.DORABands{
				DeploymentFrequency: model.FrequencyBand(f64(truth.FrequencyPerDay())),
				ChangeFailureRate:   model.FailureRateBand(f64(truth.ChangeFailureRatePercent())),
				TimeToRestore:       model.RestoreBand(f64(truth.RestoreP50Seconds())),
				LeadTime:            model.LeadTimeBand(f64(truth.LeadP50Seconds())),
			}
			if got.Bands == want {
				bands++
			}
			if r.junk && r.env != "" {
				tests := float64(cfg.TestBurst)
				s, f := float64(truth.Successes), float64(truth.Failures)
				burst = append(burst,
					burstCheck{"frequency", *got.DeploymentFrequencyPerDay, (s + tests) / truth.Days},
					burstCheck{"change failure rate", *got.ChangeFailureRatePercent, f / (s + f + tests) * 100},
					burstCheck{"coverage", *got.LeadTimeCoveragePercent, float64(truth.WithCommit) / (s + tests) * 100})
			}
		}
		var b strings.Builder
		for _, s := range []*doraScore{freq, cfr, ttr, lead, cov} {
			fmt.Fprintf(&b, "\n  %s", s)
		}
		t.Logf("DORA accuracy, %s, %d histories: all four bands right in %d%s", r.name, n, bands, b.String())
		switch {
		case !r.junk:
			// Without junk every figure is the truth.
			for _, s := range []*doraScore{freq, cfr, ttr, lead, cov} {
				if s.worst() > 1e-6 {
					t.Errorf("%s: %s, want exact", r.name, s)
				}
			}
			if bands != n {
				t.Errorf("%s: bands right in %d of %d, want all", r.name, bands, n)
			}
		case r.env != "":
			// Junk in production moves no restore time and, but for the
			// burst of test deploys, no rate; the late step moves one lead
			// time of about 115 by three hours, the median by a rank at most.
			if ttr.worst() > 1e-6 {
				t.Errorf("%s: %s, want exact", r.name, ttr)
			}
			if lead.worst() > 0.1*quantile(slices.Clone(lead.truths), 0.5) {
				t.Errorf("%s: %s, want within 10 %%", r.name, lead)
			}
			if want := n; r.burst > 0 {
				// The burst moves the failure rate and the frequency
				// across a threshold in some histories.
				if bands < n*3/4 {
					t.Errorf("%s: bands right in %d of %d, want 3 in 4 at least", r.name, bands, n)
				}
			} else if bands != want {
				t.Errorf("%s: bands right in %d of %d, want all", r.name, bands, n)
			}
		}
		// The test deploys of the burst are successful deployments to
		// production like any other, with no commit time: the frequency,
		// the failure rate and the coverage are exactly the truth's with
		// them counted, no more.
		for _, b := range burst {
			if math.Abs(b.got-b.want) > 1e-9*math.Max(1, math.Abs(b.want)) {
				t.Errorf("%s: %s = %v, want %v (the truth with the burst's %d deploys)", r.name, b.name, b.got, b.want, cfg.TestBurst)
			}
		}
	}
}
