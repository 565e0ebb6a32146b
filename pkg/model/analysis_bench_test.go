package model_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// bigHistory is 200,000 deployments (a million steps with their terminal
// ones): four series of 50,000 over two years, growing 1 % a week, with a
// jump and 1 % junk.
var bigHistory = sync.OnceValue(func() []*model.Deployment {
	ds, _ := synth.Generate(synth.Config{Seed: 1, Start: accuracyStart, Weeks: 104, PerSeries: 50_000, Noise: 0.25,
		Series: []synth.Series{
			{Component: "api", Environment: "production", BaseSeconds: 600, Steps: growthSeries(1)[0].Steps},
			{Component: "api", Environment: "staging", BaseSeconds: 300, Steps: growthSeries(1)[0].Steps},
			{Component: "web", Environment: "production", BaseSeconds: 900, Steps: growthSeries(1)[0].Steps},
			{Component: "web", Environment: "staging", BaseSeconds: 450, Steps: growthSeries(1)[0].Steps},
		},
		Jumps:    []synth.Jump{{Series: 0, Step: "tests", At: 30_000, Percent: 80}},
		JunkRate: 0.01})
	return ds
})

// BenchmarkTrend is /v1/stats' analysis of 200,000 deployments: buckets,
// percentiles, the robust trend of the deployments and of each step,
// the outliers and the blame.
func BenchmarkTrend(b *testing.B) {
	ds := bigHistory()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		st := stats(b, ds)
		if st.Trend.Direction != model.DirectionGrowing {
			b.Fatalf("trend %+v", st.Trend)
		}
	}
}

// BenchmarkChanges is /v1/changes over 200,000 deployments.
func BenchmarkChanges(b *testing.B) {
	ds := bigHistory()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		if cs := changes(b, ds); len(cs) == 0 {
			b.Fatal("the jump was not found")
		}
	}
}

// BenchmarkAccuracy scores one history of each accuracy scenario per
// iteration: the cost of the estimators on histories of a few hundred
// deployments.
func BenchmarkAccuracy(b *testing.B) {
	ds, _ := synth.Generate(synth.Config{Seed: 1, Start: accuracyStart, Weeks: 26, PerSeries: 120, Series: growthSeries(1.5), Noise: 0.25, JunkRate: 0.05})
	jumpy, _ := synth.Generate(synth.Config{Seed: 2, Start: accuracyStart, Weeks: 26, PerSeries: 150, Series: growthSeries(1)[:1], Noise: 0.25,
		Jumps: []synth.Jump{{Series: 0, Step: "tests", At: 70, Percent: 60}}, JunkRate: 0.05})
	for b.Loop() {
		stats(b, ds)
		changes(b, jumpy)
	}
}

// reportCPU adds the CPU time per operation to a benchmark's figures.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if start > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkStatsHeld reports the heap a stats accumulator holds once it
// has seen the 200,000 deployments, before Result: what a /v1/stats
// request keeps while the database streams.
func BenchmarkStatsHeld(b *testing.B) {
	ds := bigHistory()
	var held float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		opts := model.StatsOptions{}
		opts.Validate()
		acc := model.NewStatsAccumulator(opts)
		for _, d := range ds {
			acc.Add(d)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		runtime.KeepAlive(acc)
	}
	b.ReportMetric(held, "held-MiB")
}
