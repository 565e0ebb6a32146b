package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkStatsRepeats is BenchmarkStatsStream's stats over a history
// whose every deployment met a step twice (tests retried: a first try of
// a third of its seconds, then the one that passed), the path a step met
// twice takes through the accumulator; rate is the part of the
// deployments that retried.
func BenchmarkStatsRepeats(b *testing.B) {
	const n = 200_000
	for _, rate := range []int{0, 100} {
		b.Run(fmt.Sprintf("retried=%d%%", rate), func(b *testing.B) {
			buf := make([]model.Phase, 0, 8)
			var first, second float64
			start := cpuTime()
			for b.Loop() {
				opts := model.StatsOptions{SprintStart: accuracyStart}
				if err := opts.Validate(); err != nil {
					b.Fatal(err)
				}
				acc := model.NewStatsAccumulator(opts)
				i := 0
				streamDeployments(n, func(d *model.Deployment) {
					// streamDeployments fills d.Steps in again for the next.
					steps := d.Steps
					defer func() { d.Steps = steps }()
					if i++; i%100 < rate {
						tests := d.Steps[1]
						first, second = *tests.DurationSeconds/3, *tests.DurationSeconds*2/3
						retry := tests
						retry.Time = tests.Time.Add(time.Duration(first * float64(time.Second)))
						tests.DurationSeconds, retry.DurationSeconds = &first, &second
						buf = append(append(buf[:0], d.Steps[0], tests, retry), d.Steps[2:]...)
						for k := range buf {
							buf[k].ID = int64(k + 1)
						}
						d.Steps = buf
					}
					acc.Add(d)
				})
				if st := acc.Result(); st.Deployments != n {
					b.Fatalf("%d deployments", st.Deployments)
				}
				acc.Changes()
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/float64(n), "cpu-ns/dep")
		})
	}
}

// BenchmarkChangesManySteps is /v1/changes over series whose deployments
// run many steps, some of them in a part of the deployments only (rollout
// named after the host it ran on), with a jump in each: the moved steps
// of each change point are described for each status met around it.
// per=1500 keeps each deployment of a series; per=20000 keeps runs.
func BenchmarkChangesManySteps(b *testing.B) {
	for _, per := range []int{1500, 20_000} {
		b.Run(fmt.Sprintf("per=%d", per), func(b *testing.B) {
			var steps []synth.Step
			for i := range 30 {
				steps = append(steps, synth.Step{Status: fmt.Sprintf("task%02d", i), Share: 0.02})
			}
			for i := range 10 {
				steps = append(steps, synth.Step{Status: fmt.Sprintf("rollout-host%02d", i), Share: 0.04, Runs: 0.3})
			}
			var series []synth.Series
			var jumps []synth.Jump
			for i := range 4 {
				series = append(series, synth.Series{Component: fmt.Sprintf("svc%d", i), Environment: "production", BaseSeconds: 600, Steps: steps})
				jumps = append(jumps, synth.Jump{Series: i, Step: "task03", At: per / 3, Percent: 1500},
					synth.Jump{Series: i, Step: "task07", At: 2 * per / 3, Percent: 1500})
			}
			ds, _ := synth.Generate(synth.Config{Seed: 3, Start: accuracyStart, Weeks: 52, PerSeries: per, Noise: 0.1, Series: series, Jumps: jumps})
			found := 0
			start := cpuTime()
			for b.Loop() {
				found = len(changes(b, ds))
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(found), "changes")
		})
	}
}
