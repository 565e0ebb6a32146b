package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailureRateIntervalHandComputed checks the interval against values
// worked out by hand from the closed form, and its edges.
func TestFailureRateIntervalHandComputed(t *testing.T) {
	z2 := z95 * z95
	for _, c := range []struct {
		failed, n int
		low, high float64
	}{
		// docs/api.md's second week: 1 failure in 6.
		{1, 6, 2.998, 56.35},
		{4, 9, 18.88, 73.33},
		{10, 100, 5.523, 17.44},
		// The rest of docs/api.md's table.
		{1, 20, 0.8881, 23.61},
		{9, 73, 6.624, 21.80},
		{50, 1000, 3.813, 6.531},
		// Nothing failed: from 0 to z²/(n+z²), not the point 0.
		{0, 6, 0, 100 * z2 / (6 + z2)},
		// All failed: from n/(n+z²) to 100 %.
		{5, 5, 100 * 5 / (5 + z2), 100},
	} {
		low, high, ok := FailureRateInterval(c.failed, c.n)
		if !ok || math.Abs(low-c.low) > 0.01 || math.Abs(high-c.high) > 0.01 {
			t.Errorf("%d of %d: %.3f–%.3f (%v), want %.3f–%.3f", c.failed, c.n, low, high, ok, c.low, c.high)
		}
		rate := 100 * float64(c.failed) / float64(c.n)
		if low > rate || high < rate {
			t.Errorf("%d of %d: %.3f–%.3f leaves out the rate %.3f", c.failed, c.n, low, high, rate)
		}
		// Failures and successes swap ends: the interval of 100 − rate is
		// 100 − the interval.
		l2, h2, _ := FailureRateInterval(c.n-c.failed, c.n)
		if math.Abs(l2-(100-high)) > 1e-9 || math.Abs(h2-(100-low)) > 1e-9 {
			t.Errorf("%d of %d: mirror %.6f–%.6f, want %.6f–%.6f", c.n-c.failed, c.n, l2, h2, 100-high, 100-low)
		}
	}
	for _, c := range [][2]int{{0, 0}, {1, 0}, {-1, 3}, {4, 3}} {
		if _, _, ok := FailureRateInterval(c[0], c[1]); ok {
			t.Errorf("%d of %d: an interval, want none", c[0], c[1])
		}
	}
}

// TestFailureRateIntervalNarrowerThanABand checks the figures docs/api.md
// and docs/analysis.md give: the fewest deployments whose interval is
// narrower than a band (5 points) at each failure rate.
func TestFailureRateIntervalNarrowerThanABand(t *testing.T) {
	for _, c := range []struct {
		rate float64
		n    int
	}{{0.02, 152}, {0.05, 304}, {0.10, 557}, {0.15, 784}, {0.20, 982}} {
		width := func(n int) float64 {
			lo, hi := wilson(c.rate, float64(n))
			return 100 * (hi - lo)
		}
		if w, before := width(c.n), width(c.n-1); w >= 5 || before < 5 {
			t.Errorf("at %.0f %%: %d deployments give %.2f points, %d give %.2f; want the first under 5",
				100*c.rate, c.n, w, c.n-1, before)
		}
	}
}

// TestFailureRateIntervalCoverage checks the interval against known truth:
// many buckets of n deployments each, each deployment failing with a known
// probability p, go through the DORA accumulator as deployments; the 95 %
// interval of each bucket's change failure rate must hold p about 95 % of
// the time. Wilson's coverage oscillates with n and p (a rate is a count
// over n), so each cell must be within [91 %, 99 %] and their mean within
// [94 %, 97 %]; the textbook interval p̂ ± 1.96·√(p̂(1−p̂)/n) on the same
// buckets must fail that check (it covers 5 % one time in four at n = 5),
// or the check proves nothing. Seeded: the figures in docs/analysis.md are
// these (go test ./pkg/model -run TestFailureRateIntervalCoverage -v).
func TestFailureRateIntervalCoverage(t *testing.T) {
	const runs, days = 5, 1000 // 5,000 buckets a cell: 0.3 points of noise
	r := rand.New(rand.NewPCG(2026, 12))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var table strings.Builder
	table.WriteString("| true rate | deployments a bucket | Wilson covers (exact) | textbook p̂ ± 1.96·SE covers | mean width | point estimate's band right |\n|---|---|---|---|---|---|\n")
	total, cells, waldFails := 0.0, 0, false
	for _, p := range []float64{0.05, 0.15, 0.30} {
		truth := FailureRateBand(ptrTo(100 * p))
		for _, n := range []int{5, 20, 100} {
			covered, wald, bandRight, buckets := 0, 0, 0, 0
			width := 0.0
			for range runs {
				acc := NewDORAAccumulator(DORAOptions{Bucket: BucketDay})
				for d := range days {
					day := start.AddDate(0, 0, d)
					for i := range n {
						s := day.Add(time.Duration(i) * 86400 * time.Second / time.Duration(n))
						end := s.Add(time.Second)
						dep := &Deployment{Component: "api", Version: strconv.Itoa(d*n + i), Environment: "production",
							Attempt: 1, StartedAt: s, FinishedAt: &end, Outcome: OutcomeSuccess}
						if r.Float64() < p {
							dep.Outcome = OutcomeFailure
						}
						acc.Add(dep)
					}
				}
				if err := acc.CheckSize(); err != nil {
					t.Fatal(err)
				}
				for _, b := range acc.Result().Buckets {
					if b.Deployments != n || b.ChangeFailureRateLowPercent == nil || b.ChangeFailureRateHighPercent == nil {
						t.Fatalf("bucket %s: %d deployments, interval %v–%v; want %d and an interval",
							b.Start, b.Deployments, b.ChangeFailureRateLowPercent, b.ChangeFailureRateHighPercent, n)
					}
					buckets++
					lo, hi := *b.ChangeFailureRateLowPercent/100, *b.ChangeFailureRateHighPercent/100
					if lo <= p && p <= hi {
						covered++
					}
					width += hi - lo
					ph := *b.ChangeFailureRatePercent / 100
					if se := z95 * math.Sqrt(ph*(1-ph)/float64(n)); ph-se <= p && p <= ph+se {
						wald++
					}
					if b.Bands.ChangeFailureRate == truth {
						bandRight++
					}
				}
			}
			cov, waldCov := float64(covered)/float64(buckets), float64(wald)/float64(buckets)
			exact := exactCoverage(p, n)
			fmt.Fprintf(&table, "| %.0f %% | %d | %.1f %% (%.1f %%) | %.1f %% | %.1f points | %.0f %% |\n",
				100*p, n, 100*cov, 100*exact, 100*waldCov, 100*width/float64(buckets), 100*float64(bandRight)/float64(buckets))
			if cov < 0.91 || cov > 0.99 {
				t.Errorf("p %.2f, n %d: the interval held p in %.1f %% of %d buckets, want 91–99 %%", p, n, 100*cov, buckets)
			}
			// 3.5 standard errors of the simulation: the accumulator's
			// intervals are the ones the binomial says.
			if se := math.Sqrt(exact * (1 - exact) / float64(buckets)); math.Abs(cov-exact) > 3.5*se {
				t.Errorf("p %.2f, n %d: simulated coverage %.4f, exact %.4f: off by more than 3.5 SE (%.4f)", p, n, cov, exact, se)
			}
			if waldCov < 0.91 {
				waldFails = true
			}
			total += cov
			cells++
		}
	}
	if mean := total / float64(cells); mean < 0.94 || mean > 0.97 {
		t.Errorf("mean coverage %.1f %%, want 94–97 %%", 100*mean)
	}
	if !waldFails {
		t.Error("the textbook interval passed the coverage check: the check cannot tell a good interval from a bad one")
	}
	t.Logf("coverage of the change failure rate's 95 %% interval, %d buckets a cell:\n%s", runs*days, table.String())
}

// exactCoverage is the probability that the interval of a bucket of n
// deployments, each failing with probability p, holds p: the binomial
// probabilities of the failure counts whose interval does.
func exactCoverage(p float64, n int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x + 1)); return v }
	cov := 0.0
	for k := 0; k <= n; k++ {
		if lo, hi, _ := FailureRateInterval(k, n); lo <= 100*p && 100*p <= hi {
			cov += math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
		}
	}
	return cov
}

func ptrTo(v float64) *float64 { return &v }
