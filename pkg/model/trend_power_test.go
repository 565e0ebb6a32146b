package model_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// directionCount is how often a cell's histories read each direction.
type directionCount struct{ growing, flat, shrinking, n int }

func (c directionCount) String() string {
	pct := func(k int) float64 { return float64(k) * 100 / float64(c.n) }
	return fmt.Sprintf("%5.1f / %5.1f / %5.1f", pct(c.growing), pct(c.flat), pct(c.shrinking))
}

// TestAccuracyDirection measures how often the trend's direction tells a
// growth: one series (api in production, 10 minutes in four steps, 25 %
// lognormal noise a step, no junk) growing g % a week, n deployments
// spread evenly over a span, read as growing, flat or shrinking. g = 0 is
// the false-alarm rate, g > 0 the power. Two spans: 4 deployments a week
// (n/4 weeks, as TestJunkTurnsNoDirection), and six months (26 weeks, as
// TestAccuracyGrowth) whatever n. The same seeds serve every cell, so a
// cell differs from its neighbours by g or n, not by luck.
// docs/analysis.md ("How often a growth is told") gives the table;
// `go test ./pkg/model -run TestAccuracyDirection -count=1 -v` prints it.
func TestAccuracyDirection(t *testing.T) {
	t.Parallel()
	histories := trials(200)
	growths := []float64{0, 0.5, 1, 2, 5}
	sizes := []int{10, 20, 40, 60, 80, 120}
	spans := []struct {
		name  string
		weeks func(n int) float64
	}{
		{"4 deployments a week (n/4 weeks)", func(n int) float64 { return float64(n) / 4 }},
		{"26 weeks", func(int) float64 { return 26 }},
	}
	// cells[span][g][n]
	cells := make([][][]directionCount, len(spans))
	for si, span := range spans {
		cells[si] = make([][]directionCount, len(growths))
		for gi, g := range growths {
			cells[si][gi] = make([]directionCount, len(sizes))
			for ni, n := range sizes {
				c := &cells[si][gi][ni]
				for seed := range histories {
					ds, _ := synth.Generate(synth.Config{Seed: uint64(5000 + seed), Start: accuracyStart, Weeks: span.weeks(n),
						PerSeries: n, Series: growthSeries(g)[:1], Noise: 0.25})
					c.n++
					switch stats(t, ds).Trend.Direction {
					case model.DirectionGrowing:
						c.growing++
					case model.DirectionShrinking:
						c.shrinking++
					default:
						c.flat++
					}
				}
			}
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "direction of one series, %d histories a cell, %% growing / flat / shrinking", histories)
	for si, span := range spans {
		fmt.Fprintf(&b, "\n%s:\n%-12s", span.name, "growth")
		for _, n := range sizes {
			fmt.Fprintf(&b, " | %-21s", fmt.Sprintf("n = %d", n))
		}
		for gi, g := range growths {
			fmt.Fprintf(&b, "\n%-12s", fmt.Sprintf("%g %% a week", g))
			for ni := range sizes {
				fmt.Fprintf(&b, " | %s", cells[si][gi][ni])
			}
		}
	}
	t.Log(b.String())

	// Loose bounds that hold today, so that a change which costs power
	// (or raises false alarms) fails here and is measured before it lands.
	for si, span := range spans {
		for gi, g := range growths {
			for ni, n := range sizes {
				c := cells[si][gi][ni]
				at := fmt.Sprintf("%s, %g %% a week, %d deployments", span.name, g, n)
				if g == 0 && !reaches(c.n-c.growing, c.n, 200, 0.95) {
					t.Errorf("%s: flat read growing in %d of %d, want ≤ 5 %%", at, c.growing, c.n)
				}
				if g == 0 && !reaches(c.n-c.shrinking, c.n, 200, 0.95) {
					t.Errorf("%s: flat read shrinking in %d of %d, want ≤ 5 %%", at, c.shrinking, c.n)
				}
				if g >= 1 && c.shrinking > 0 {
					t.Errorf("%s: read shrinking in %d of %d, want never", at, c.shrinking, c.n)
				}
			}
		}
	}
	// Power floors, each well under today's figure (docs/analysis.md has
	// the table, and the figures before the direction had to hold without
	// 3 deployments).
	for _, f := range []struct {
		span, g, n int // indexes into spans, growths, sizes
		floor      float64
	}{
		{0, 4, 2, 0.90}, // 5 % a week, 40 deployments over 10 weeks: 100 %
		{0, 3, 5, 0.95}, // 2 % a week, 120 deployments over 30 weeks: 100 %
		{1, 3, 1, 0.75}, // 2 % a week, 20 deployments over 26 weeks: 89 %
		{1, 2, 2, 0.55}, // 1 % a week, 40 deployments over 26 weeks: 69 %
		{1, 2, 5, 0.95}, // 1 % a week, 120 deployments over 26 weeks: 100 %
	} {
		c := cells[f.span][f.g][f.n]
		if !reaches(c.growing, c.n, 200, f.floor) {
			t.Errorf("%s, %g %% a week, %d deployments: read growing in %d of %d, want ≥ %.0f %%",
				spans[f.span].name, growths[f.g], sizes[f.n], c.growing, c.n, f.floor*100)
		}
	}
}
