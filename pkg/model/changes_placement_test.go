package model_test

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
)

// TestAccuracyChangesMany scores the change points on as many histories
// as STEPS_ACCURACY_TRIALS asks (skipped without it): the histories of
// TestAccuracyChanges (seeds 2000 on) for placement, misses, direction
// and size, and those of TestAccuracyNoFalseChanges (seeds 3000 on), flat
// and growing, for false changes. Its figures are those docs/analysis.md
// quotes "over 1,000 such histories":
//
//	STEPS_ACCURACY_TRIALS=1000 go test ./pkg/model -run TestAccuracyChangesMany -v -count=1
//
// STEPS_ACCURACY_CASES=1 logs every shift not found within ±3.
func TestAccuracyChangesMany(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("STEPS_ACCURACY_TRIALS"))
	if err != nil || n <= 0 {
		t.Skip("STEPS_ACCURACY_TRIALS=n scores n histories")
	}
	cases := os.Getenv("STEPS_ACCURACY_CASES") != ""
	within, exact, misplaced, missed, drops, extra := 0, 0, 0, 0, 0, 0
	var offsets, sizeErrs []float64
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		g := 2 * rng.Float64()
		jump := synth.Jump{Series: 0, Step: "tests", At: 20 + rng.IntN(111), Percent: 50 + 75*rng.Float64()}
		ds, truth := synth.Generate(synth.Config{Seed: uint64(2000 + i), Start: accuracyStart, Weeks: 26, PerSeries: 150,
			Series: growthSeries(g)[:1], Noise: 0.25, Jumps: []synth.Jump{jump}, JunkRate: 0.05})
		want := truth.Jumps[0]
		cs := changes(t, ds)
		// The change nearest the shift is its reading; any other is extra.
		nearest, dist := -1, math.MaxInt
		for k, c := range cs {
			at, ok := realIndex(c.Version)
			if !ok {
				t.Errorf("trial %d: a change at junk deployment %s", i, c.Version)
				continue
			}
			if d := abs(at - want.Index); d < dist {
				nearest, dist = k, d
			}
			if c.ChangePercent < 0 {
				drops++
			}
		}
		switch {
		case dist <= 3:
			within++
			if dist == 0 {
				exact++
			}
			offsets = append(offsets, float64(dist))
			sizeErrs = append(sizeErrs, math.Abs(cs[nearest].ChangePercent-want.Percent))
		case dist <= 15:
			misplaced++
		default:
			missed++
			nearest = -1
		}
		if nearest >= 0 {
			extra += len(cs) - 1
		} else {
			extra += len(cs)
		}
		if cases && (dist > 3 || os.Getenv("STEPS_ACCURACY_CASES") == "all") {
			var got []string
			for _, c := range cs {
				at, _ := realIndex(c.Version)
				got = append(got, strconv.Itoa(at)+" "+strconv.FormatFloat(c.ChangePercent, 'f', 1, 64)+"%")
			}
			t.Logf("trial %d: growth %.2f %% a week, shift %+.1f %% at %d: %v (distance %d)", i, g, want.Percent, want.Index, got, dist)
		}
	}
	sets := max(1, n/10)
	flat, growing := 0, 0
	for r := range sets {
		f, g := falseChanges(t, r)
		flat += f
		growing += g
	}
	pct := func(k int) float64 { return 100 * float64(k) / float64(n) }
	t.Logf("shifts: %d histories; within ±3 %d (%.1f %%, mean distance %.2f, at the very deployment %d), placed 4–15 off %d (%.1f %%), missed %d (%.1f %%); drops read %d; other changes %d",
		n, within, pct(within), mean(offsets), exact, misplaced, pct(misplaced), missed, pct(missed), drops, extra)
	t.Logf("size error of the shifts within ±3: mean %.2f, p90 %.2f, worst %.2f points",
		mean(sizeErrs), quantile(sizeErrs, 0.9), quantile(sizeErrs, 1))
	t.Logf("false changes: %.3f per 10 flat series, %.3f per 10 growing ones (%d sets of 10 each)",
		float64(flat)/float64(sets), float64(growing)/float64(sets), sets)
	if n < 1000 {
		return // the bounds below tell apart rates a point apart: only on 1,000 histories or more
	}
	// On 2026-12-02: 52 of the first 1,000 shifts placed 4–15 off (5.2 %),
	// 58.9 % at the very deployment. Placing each change at the median of
	// its step's likelihood instead of its best fit took the first to 45
	// but the second to 56.3 %: a team reads the version named, so that
	// was not kept.
	if pct(misplaced) > 5.5 {
		t.Errorf("%.1f %% of the shifts placed 4–15 deployments off, want ≤ 5.5 %%", pct(misplaced))
	}
	if p := pct(exact); p < 57 {
		t.Errorf("%.1f %% of the shifts placed at the very deployment, want ≥ 57 %%", p)
	}
	if pct(missed) > 4 {
		t.Errorf("%.1f %% of the shifts missed, want ≤ 4 %%", pct(missed))
	}
	if m := mean(sizeErrs); m > 6 {
		t.Errorf("size of the shifts off by %.2f points on average, want ≤ 6", m)
	}
	if f := float64(flat) / float64(sets); f > 0.3 {
		t.Errorf("%.2f false changes per 10 flat series, want ≤ 0.3", f)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
