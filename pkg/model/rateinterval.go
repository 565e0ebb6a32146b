package model

import "math"

// The change failure rate is a proportion of few deployments: 1 failure in
// 6 reads 16.7 %, band low, and one failure fewer reads elite. So it comes
// with a 95 % interval, the Wilson score interval (Wilson, 1927): the
// rates p whose normal test against the observed share does not reject at
// 5 %, solved in closed form,
//
//	(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
//
// Unlike the textbook p̂ ± z·√(p̂(1−p̂)/n) (Wald), it stays within [0, 1],
// is not the single point 0 when nothing failed, and covers the true rate
// close to 95 % of the time down to a handful of deployments (Brown, Cai
// and DasGupta, 2001; docs/analysis.md has the coverage measured here).

// FailureRateInterval is the 95 % Wilson score interval, in percent, of a
// failure rate of failed out of n; ok is false when n is 0 (no rate).
func FailureRateInterval(failed, n int) (low, high float64, ok bool) {
	if n <= 0 || failed < 0 || failed > n {
		return 0, 0, false
	}
	low, high = wilson(float64(failed)/float64(n), float64(n))
	// At 0 and n the ends are exactly 0 and 100 %; rounding would make
	// them 1e-17 off, and a 0 % rate's interval should start at 0.
	if failed == 0 {
		low = 0
	}
	if failed == n {
		high = 1
	}
	return low * 100, high * 100, true
}

// wilson is the 95 % Wilson score interval of a share p of n, as shares.
func wilson(p, n float64) (low, high float64) {
	z2 := z95 * z95
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := z95 * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / (1 + z2/n)
	return max(0, centre-half), min(1, centre+half)
}

// FailureRateBandSpread says, for a note under the keys, when the change
// failure rate's 95 % interval reaches into more than one band: "the
// change failure rate's band is not settled: its 95 % interval spans
// elite to low". It is "" when the interval lies within the band of the
// rate, or there is no rate.
func FailureRateBandSpread(f DORAFigures) string {
	if f.ChangeFailureRateLowPercent == nil || f.ChangeFailureRateHighPercent == nil {
		return ""
	}
	best, worst := FailureRateBand(f.ChangeFailureRateLowPercent), FailureRateBand(f.ChangeFailureRateHighPercent)
	if best == worst {
		return ""
	}
	return "the change failure rate's band is not settled: its 95 % interval spans " + string(best) + " to " + string(worst)
}
