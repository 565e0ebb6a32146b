package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// streamSeries is the number of component and environment pairs of
// streamDeployments.
const streamSeries = 20

// streamDeployments calls fn with n synthetic deployments in start order,
// as the store streams them: streamSeries series of five steps each (six
// phases with the terminal one), over two years, growing 0.5 % a week with
// 25 % lognormal noise and 1 % junk. One Deployment is filled in again for
// each (fn keeps none), so that the cost and heap measured are fn's.
func streamDeployments(n int, fn func(*model.Deployment)) {
	rng := rand.New(rand.NewPCG(7, 13))
	statuses := []string{"build", "tests", "migrate", "rollout", "verify"}
	shares := []float64{0.3, 0.35, 0.05, 0.2, 0.1}
	components := make([][2]string, streamSeries)
	for i := range components {
		components[i] = [2]string{fmt.Sprintf("svc%02d", i/2), []string{"production", "staging"}[i%2]}
	}
	span := 104 * 7 * 24 * time.Hour
	step := span / time.Duration(n)
	seconds := make([]float64, len(statuses))
	d := &model.Deployment{Attempt: 1, Owner: "bench", Outcome: model.OutcomeSuccess, Steps: make([]model.Phase, len(statuses)+1)}
	var version []byte
	for i := range n {
		s := i % streamSeries
		at := accuracyStart.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step))))
		weeks := float64(at.Sub(accuracyStart)) / float64(7*24*time.Hour)
		base := 300 * (1 + float64(s)/4) * math.Exp(weeks*math.Log(1.005))
		junk := rng.Float64() < 0.01
		for k := range statuses {
			seconds[k] = base * shares[k] * math.Exp(rng.NormFloat64()*0.25)
			if junk {
				seconds[k] = 0.1
			}
		}
		version = strconv.AppendInt(append(version[:0], "1."...), int64(i/streamSeries), 10)
		d.Component, d.Environment, d.Version, d.StartedAt = components[s][0], components[s][1], string(version), at
		t := at
		for k, status := range statuses {
			d.Steps[k] = model.Phase{ID: int64(k + 1), Status: status, Time: t, DurationSeconds: &seconds[k]}
			t = t.Add(time.Duration(seconds[k] * float64(time.Second)))
		}
		d.Steps[len(statuses)] = model.Phase{ID: int64(len(statuses) + 1), Status: "finished", Time: t}
		d.FinishedAt = &t
		d.DurationSeconds = t.Sub(at).Seconds()
		fn(d)
	}
}

// liveHeap is the heap the last garbage collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkStatsStream is /v1/stats' model half over a history streamed in
// start order (streamDeployments): every deployment through the
// accumulator, then Result and Changes, as the page does. It reports the
// CPU per deployment and the largest live heap seen (sampled every 10,000
// deployments and after Result), and the same for the generator alone
// (feed=only), to subtract.
func BenchmarkStatsStream(b *testing.B) {
	for _, n := range []int{200_000, 2_000_000} {
		for _, feed := range []string{"only", "stats"} {
			b.Run(fmt.Sprintf("n=%d/feed=%s", n, feed), func(b *testing.B) {
				var peak uint64
				start := cpuTime()
				for b.Loop() {
					runtime.GC()
					base := liveHeap()
					opts := model.StatsOptions{SprintStart: accuracyStart}
					if err := opts.Validate(); err != nil {
						b.Fatal(err)
					}
					acc := model.NewStatsAccumulator(opts)
					i := 0
					sample := func() {
						if l := liveHeap(); l > base && l-base > peak {
							peak = l - base
						}
					}
					streamDeployments(n, func(d *model.Deployment) {
						if feed == "stats" {
							acc.Add(d)
						}
						if i++; i%10_000 == 0 {
							sample()
						}
					})
					if feed == "stats" {
						if err := acc.CheckSize(); err != nil {
							b.Fatal(err)
						}
						st := acc.Result()
						acc.Changes()
						runtime.GC()
						sample()
						if st.Deployments != n || st.Trend.Direction != model.DirectionGrowing {
							b.Fatalf("%d deployments, trend %+v", st.Deployments, st.Trend)
						}
					}
					runtime.KeepAlive(acc)
				}
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/float64(n), "cpu-ns/dep")
				b.ReportMetric(float64(peak)/(1<<20), "peak-live-MiB")
			})
		}
	}
}
