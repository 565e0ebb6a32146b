package model

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// longDORAHistory is n deployments of each of three series, in start
// order: a few minutes apart, a tenth running long enough to end after
// later ones (so ends come out of start order), a fifth failing, some of
// them in the same instant as a success, most with a commit time.
func longDORAHistory(n int, seed uint64) []*Deployment {
	r := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)
	var deps []*Deployment
	for i := range n {
		for _, c := range []string{"api", "web", "db"} {
			s := start.Add(time.Duration(i)*7*time.Minute + time.Duration(r.IntN(60))*time.Second)
			dur := time.Duration(1+r.IntN(300)) * time.Second
			switch r.IntN(10) {
			case 0:
				dur = time.Duration(r.IntN(180)) * time.Minute // ends after later starts, or at once
			case 1:
				dur = 0
			}
			d := &Deployment{Component: c, Version: strconv.Itoa(i), Environment: "production", Attempt: 1, StartedAt: s, Outcome: OutcomeSuccess}
			if r.IntN(5) == 0 {
				d.Outcome = OutcomeFailure
			}
			end := s.Add(dur)
			d.FinishedAt = &end
			if r.IntN(4) != 0 {
				committed := s.Add(-time.Duration(r.IntN(72)) * time.Hour)
				d.CommittedAt = &committed
			}
			deps = append(deps, d)
			if dur == 0 && r.IntN(2) == 0 {
				// Another attempt failing in the same instant, after a
				// success ending there: the failure comes first.
				twin := *d
				twin.Attempt, twin.Outcome = 2, OutcomeFailure
				deps = append(deps, &twin)
			}
		}
	}
	// Start order per series, as the store reads them.
	return deps
}

func doraJSON(t *testing.T, opts DORAOptions, deps []*Deployment) (string, *DORAAccumulator) {
	t.Helper()
	acc := NewDORAAccumulator(opts)
	for _, d := range deps {
		acc.Add(d)
	}
	if err := acc.CheckSize(); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, s := range acc.series {
		kept += len(s.ends) + len(s.pending)
	}
	b, err := json.Marshal(acc.Result())
	if err != nil {
		t.Fatal(err)
	}
	acc.series = map[doraSeries]*doraSeriesAcc{{component: "kept"}: {ends: make([]doraEnd, kept)}}
	return string(b), acc
}

// TestDORAPairsAsItGoes: deployments in start order per series are paired
// as they come, keeping a bounded number of ends per series, and give the
// answer the whole history sorted at the end gives (the same deployments
// shuffled, which are kept whole).
func TestDORAPairsAsItGoes(t *testing.T) {
	opts := DORAOptions{Bucket: BucketMonth, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(3) {
		deps := longDORAHistory(20000, seed)
		inOrder, acc := doraJSON(t, opts, deps)
		if kept := len(acc.series[doraSeries{component: "kept"}].ends); kept > 3*2*keptEnds {
			t.Errorf("seed %d: %d ends kept at the end of %d deployments in start order, want at most %d", seed, kept, len(deps), 3*2*keptEnds)
		}
		shuffled := append([]*Deployment(nil), deps...)
		rand.New(rand.NewPCG(seed, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		whole, acc := doraJSON(t, opts, shuffled)
		if kept := len(acc.series[doraSeries{component: "kept"}].ends); kept != len(deps) {
			t.Errorf("seed %d: shuffled, %d ends kept, want all %d", seed, kept, len(deps))
		}
		if inOrder != whole {
			t.Errorf("seed %d: paired as they came:\n%s\nwant, sorted at the end:\n%s", seed, inOrder, whole)
		}
	}
}

// TestDORASketchedTimesAreClose: past 1,024 restore or lead times in a
// bucket, their percentiles come from the sketch; against the exact
// percentiles of known times they stay within 0.8 %, as docs/api.md says.
func TestDORASketchedTimesAreClose(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	var deps []*Deployment
	var restores, leads []float64
	at := start
	for i := range 3000 {
		// A failure, then the success that restores it restore later,
		// lead after its commit.
		restore := time.Duration(math.Exp(7+r.NormFloat64()) * float64(time.Second)).Round(time.Microsecond)
		lead := time.Duration(math.Exp(9+r.NormFloat64()) * float64(time.Second)).Round(time.Microsecond)
		failEnd := at.Add(time.Minute)
		fail := &Deployment{Component: "api", Version: strconv.Itoa(2 * i), Environment: "production", StartedAt: at, Outcome: OutcomeFailure, FinishedAt: &failEnd}
		okStart := failEnd.Add(restore - time.Minute)
		okEnd := failEnd.Add(restore)
		committed := okEnd.Add(-lead)
		ok := &Deployment{Component: "api", Version: strconv.Itoa(2*i + 1), Environment: "production", StartedAt: okStart, Outcome: OutcomeSuccess, FinishedAt: &okEnd, CommittedAt: &committed}
		deps = append(deps, fail, ok)
		restores = append(restores, restore.Seconds())
		leads = append(leads, lead.Seconds())
		at = okEnd.Add(time.Minute)
	}
	opts := DORAOptions{Bucket: BucketMonth, Since: start, Until: at, Now: at.Add(time.Hour)}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := NewDORAAccumulator(opts)
	for _, d := range deps {
		acc.Add(d)
	}
	got := acc.Result().Overall
	slices.Sort(restores)
	slices.Sort(leads)
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"restore p50", got.TimeToRestoreP50Seconds, Percentile(restores, 50)},
		{"restore p90", got.TimeToRestoreP90Seconds, Percentile(restores, 90)},
		{"lead p50", got.LeadTimeP50Seconds, Percentile(leads, 50)},
		{"lead p90", got.LeadTimeP90Seconds, Percentile(leads, 90)},
	} {
		if c.got != nil {
			t.Logf("%s %v exact %v: %.3f %%", c.name, *c.got, c.want, (*c.got-c.want)/c.want*100)
		}
		if c.got == nil || math.Abs(*c.got-c.want) > 0.008*c.want {
			t.Errorf("%s = %v, want within 0.8 %% of %v", c.name, c.got, c.want)
		}
	}
}

// TestDORAPendingFailuresStayBounded: a series that fails 30,000 times in
// a row keeps at most maxPending failures waiting (each merged one standing
// for several), counts every one unrestored if no success comes, and,
// when one does, gives the restore times' percentiles within 1 % of the
// exact ones (computed here from the failures' ends).
func TestDORAPendingFailuresStayBounded(t *testing.T) {
	const n = 30_000
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for _, restored := range []bool{false, true} {
		opts := DORAOptions{Bucket: BucketMonth, Now: start.Add(n*10*time.Minute + 48*time.Hour)}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := NewDORAAccumulator(opts)
		var ends []time.Time
		most := 0
		for i := range n {
			s := start.Add(time.Duration(i) * 10 * time.Minute)
			end := s.Add(time.Duration(1+i%7) * time.Minute)
			ends = append(ends, end)
			acc.Add(&Deployment{Component: "api", Version: strconv.Itoa(i), Environment: "prod", Attempt: 1, StartedAt: s, FinishedAt: &end, Outcome: OutcomeFailure})
			for _, sa := range acc.series {
				most = max(most, len(sa.pending))
			}
		}
		if most > maxPending+1 {
			t.Errorf("a series kept %d failures waiting; want at most %d", most, maxPending+1)
		}
		var fixed time.Time
		if restored {
			s := start.Add(n * 10 * time.Minute)
			fixed = s.Add(5 * time.Minute)
			acc.Add(&Deployment{Component: "api", Version: "fix", Environment: "prod", Attempt: 1, StartedAt: s, FinishedAt: &fixed, Outcome: OutcomeSuccess})
		}
		got := acc.Result().Overall
		if !restored {
			if got.UnrestoredFailures != n || got.TimeToRestoreP50Seconds != nil {
				t.Errorf("all failing: %d unrestored, p50 %v; want %d and none", got.UnrestoredFailures, got.TimeToRestoreP50Seconds, n)
			}
			continue
		}
		var exact []float64
		for _, e := range ends {
			exact = append(exact, fixed.Sub(e).Seconds())
		}
		slices.Sort(exact)
		if got.UnrestoredFailures != 0 || got.TimeToRestoreP50Seconds == nil || got.TimeToRestoreP90Seconds == nil {
			t.Fatalf("restored: %d unrestored, p50 %v p90 %v", got.UnrestoredFailures, got.TimeToRestoreP50Seconds, got.TimeToRestoreP90Seconds)
		}
		for _, c := range []struct {
			p   float64
			got float64
		}{{50, *got.TimeToRestoreP50Seconds}, {90, *got.TimeToRestoreP90Seconds}} {
			want := Percentile(exact, c.p)
			t.Logf("p%.0f off by %.3f %%", c.p, 100*math.Abs(c.got-want)/want)
			if math.Abs(c.got-want)/want > 0.01 {
				t.Errorf("restore p%.0f %.0f s, exact %.0f s: off by %.2f %%", c.p, c.got, want, 100*math.Abs(c.got-want)/want)
			}
		}
	}
}

// TestDORAPairsAsItGoesWithRetriesAndRedeploys: as TestDORAPairsAsItGoes,
// over series whose versions come again and again, with and without a
// revision, often at the same end instant: retries and redeploys, counted
// from the deployment before in end order, come out the same paired as
// they come and sorted at the end. Some series almost only fail, so that
// pending failures merge.
func TestDORAPairsAsItGoesWithRetriesAndRedeploys(t *testing.T) {
	opts := DORAOptions{Bucket: BucketDay, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 11))
		start := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
		failing := seed%2 == 1
		var deps []*Deployment
		for i := range 12000 {
			for _, c := range []string{"api", "web"} {
				s := start.Add(time.Duration(i)*3*time.Minute + time.Duration(r.IntN(3))*time.Minute)
				dur := time.Duration(r.IntN(4)) * time.Minute
				if r.IntN(20) == 0 {
					dur = time.Duration(r.IntN(120)) * time.Minute // ends after later starts
				}
				end := s.Add(dur)
				d := &Deployment{Component: c, Version: strconv.Itoa(i / (1 + r.IntN(4)) % 50), Environment: "production", Attempt: 1,
					Revision: []string{"", "", "a", "b"}[r.IntN(4)], StartedAt: s, FinishedAt: &end, Outcome: OutcomeSuccess}
				if (failing && r.IntN(3000) != 0) || (!failing && r.IntN(10) < 3) {
					d.Outcome = OutcomeFailure
					if r.IntN(3) == 0 {
						// Cancelled: superseded by what starts before its
						// end, or a failure (supersededBy).
						d.Steps = []Phase{{Status: "cancelled", Time: end}}
					}
				}
				if r.IntN(2) == 0 {
					committed := s.Add(-time.Duration(r.IntN(100)) * time.Minute)
					d.CommittedAt = &committed
				}
				deps = append(deps, d)
			}
		}
		inOrder, _ := doraJSON(t, opts, deps)
		shuffled := slices.Clone(deps)
		rand.New(rand.NewPCG(seed, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if whole, _ := doraJSON(t, opts, shuffled); inOrder != whole {
			t.Errorf("seed %d: paired as they came:\n%s\nwant, sorted at the end:\n%s", seed, inOrder, whole)
		}
	}
}
