package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectMedianMatchesSort: the selection gives the median sorting
// gives (0 and -0, equal, may swap), on lengths up to 130 with ties, NaNs, infinities
// and ±0, so the outlier rule judges exactly as it did.
func TestSelectMedianMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := []float64{0, math.Copysign(0, -1), 1, 1, 2, 3, 600, math.Inf(1), math.Inf(-1), math.NaN(), 1e-9}
	for n := 1; n <= 130; n++ {
		for trial := range 200 {
			xs := make([]float64, n)
			for i := range xs {
				switch trial % 3 {
				case 0:
					xs[i] = r.ExpFloat64() * 300
				case 1:
					xs[i] = float64(r.IntN(4)) // many ties
				default:
					xs[i] = pool[r.IntN(len(pool))]
				}
			}
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			want := (sorted[(n-1)/2] + sorted[n/2]) / 2
			in := slices.Clone(xs)
			if got := selectMedian(in); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("selectMedian(%v) = %v, want %v", xs, got, want)
			}
		}
	}
}
