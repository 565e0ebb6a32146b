package traces

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkRememberedEnds reports the heap the exporter holds for late
// steps once every place is taken: maxEnded series of ends stored
// separately (each step's text its own allocation, as a request leaves
// it), per=1 one end each (a version deployed once to an environment),
// per=16 maxEndsPerSeries each (re-runs, matrix jobs ending apart), per=64
// more than are kept. The heap is read after a collection with the
// exporter still reachable.
//
//	go test ./pkg/traces -run '^$' -bench RememberedEnds -benchtime 1x
func BenchmarkRememberedEnds(b *testing.B) {
	for _, per := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("per=%d", per), func(b *testing.B) {
			var held float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				e := &Exporter{}
				t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
				id := int64(0)
				for i := range per {
					for s := range maxEnded {
						id++
						e.remember(model.Step{
							ID:          id,
							Component:   fmt.Sprintf("component-%d", s%50),
							Version:     fmt.Sprintf("1.%d.%d", s, s%7),
							Owner:       fmt.Sprintf("deployer-%d", s%20),
							Status:      "finished",
							Environment: fmt.Sprintf("production-%d", s%3),
							Revision:    fmt.Sprintf("%040x", id),
							Time:        t0.Add(time.Duration(i)*time.Minute + time.Duration(s)*time.Millisecond),
							ReceivedAt:  t0,
						})
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				held = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(e)
			}
			b.ReportMetric(held/(1<<20), "MiB-held")
		})
	}
}
