package server

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// What the dashboard shows, gathered in one pass over the deployments.

// dashboard is what the page shows, gathered in one pass over the
// deployments in range: the same stats as GET /v1/stats, and the latest
// deployments as GET /v1/deployments would list them.
type dashboard struct {
	stats        model.Stats
	changes      model.Changes
	dora         model.DORA
	recent       []*model.Deployment // newest first
	total        int                 // every deployment in range, running and failed ones too
	running      int
	stuck        int
	components   []string
	environments []string
}

// dashboardPass gathers, in the page's one pass over the deployments,
// the stats (and their changes), the four keys over the same range and
// buckets, the newest deployments and the filter form's suggestions.
type dashboardPass struct {
	stats                          *model.StatsAccumulator
	dora                           *model.DORAAccumulator
	latest, unfinished             newestDeployments
	total, running, stuck          int
	components, environments       map[string]bool
	lastComponent, lastEnvironment string
}

func newDashboardPass(opts model.StatsOptions, dopts model.DORAOptions) *dashboardPass {
	return &dashboardPass{stats: model.NewStatsAccumulator(opts), dora: model.NewDORAAccumulator(dopts),
		latest: newestDeployments{max: uiRecent}, unfinished: newestDeployments{max: uiRecent},
		components: map[string]bool{}, environments: map[string]bool{}}
}

// Add takes one deployment. The newest are kept as copies: the store
// reuses the memory of those it passes.
func (p *dashboardPass) Add(dep *model.Deployment) {
	p.stats.Add(dep)
	p.dora.Add(dep)
	p.total++
	p.latest.add(dep)
	if dep.Outcome == model.OutcomeInProgress {
		p.running++
		if dep.Stuck {
			p.stuck++
		}
		p.unfinished.add(dep)
	}
	// Suggestions for the filter form, bounded however many there are.
	// The store passes a series' deployments one after the other: a name
	// like the last one's needs no hashing.
	if dep.Component != p.lastComponent && len(p.components) < 500 {
		p.components[dep.Component] = true
		p.lastComponent = dep.Component
	}
	if dep.Environment != p.lastEnvironment && len(p.environments) < 100 {
		p.environments[dep.Environment] = true
		p.lastEnvironment = dep.Environment
	}
}

// CheckSize fails when the stats or the four keys would.
func (p *dashboardPass) CheckSize() error {
	return cmp.Or(p.stats.CheckSize(), p.dora.CheckSize())
}

// FittingSince is the later start of those that fit, of the stats and
// of the four keys, among those that do not fit as they are.
func (p *dashboardPass) FittingSince() time.Time {
	var since time.Time
	if p.stats.CheckSize() != nil {
		since = p.stats.FittingSince()
	}
	if p.dora.CheckSize() != nil {
		if ds := p.dora.FittingSince(); ds.After(since) {
			since = ds
		}
	}
	return since
}

func (s *Server) loadDashboard(ctx context.Context, f model.Filter, opts model.StatsOptions, now time.Time) (dashboard, error) {
	dopts := model.DORAOptions{Bucket: opts.Bucket, SprintDays: opts.SprintDays, SprintStart: opts.SprintStart, Location: opts.Location,
		Since: f.Since, Until: f.Until, Now: now}
	if err := dopts.Validate(); err != nil {
		return dashboard{}, err
	}
	// A view without since shows the latest history that fits, as
	// GET /v1/stats does.
	p, err := readLatestThatFit(ctx, s, f, now, func(fitted time.Time) *dashboardPass {
		opts.FittedSince = fitted
		if !fitted.IsZero() {
			dopts.Since, dopts.FittedSince = fitted, fitted
		}
		return newDashboardPass(opts, dopts)
	})
	d := dashboard{total: p.total, running: p.running, stuck: p.stuck}
	if err != nil {
		return d, err
	}
	d.stats = p.stats.Result()
	d.stats.MarkPartial(f.Since, f.Until, now)
	d.changes = p.stats.Changes()
	d.dora = p.dora.Result()
	if d.dora.LegEnvironments, err = s.legsOf(ctx, f); err != nil {
		return d, err
	}
	// Deployments still running are listed even when newer ones have
	// pushed them out of the latest: those are the ones to look at.
	d.recent = p.latest.deployments()
	for _, dep := range p.unfinished.deployments() {
		if !slices.ContainsFunc(d.recent, func(r *model.Deployment) bool { return compareDeployments(r, dep) == 0 }) {
			d.recent = append(d.recent, dep)
		}
	}
	slices.SortFunc(d.recent, func(a, b *model.Deployment) int { return -compareDeployments(a, b) })
	// The ETAs of the running ones listed, as GET /v1/deployments gives
	// them: a bounded read of history per component and environment.
	var running []*model.Deployment
	for _, dep := range d.recent {
		if dep.Outcome == model.OutcomeInProgress {
			running = append(running, dep)
		}
	}
	if err := s.newETAs(now).set(ctx, running); err != nil {
		return d, err
	}
	d.components = sortedKeys(p.components)
	d.environments = sortedKeys(p.environments)
	return d, nil
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// newestDeployments keeps copies of the max newest deployments it is
// given, newest first.
type newestDeployments struct {
	max  int
	list []*keptDeployment
}

func (n *newestDeployments) add(d *model.Deployment) {
	var k *keptDeployment
	switch {
	case len(n.list) < n.max:
		k = &keptDeployment{}
	case d.StartedAt.Before(n.list[len(n.list)-1].StartedAt) || compareDeployments(d, &n.list[len(n.list)-1].Deployment) <= 0:
		// Most are older than the oldest kept: their start says so
		// without their key.
		return
	default:
		// The oldest kept goes, and its memory holds the new one.
		k = n.list[len(n.list)-1]
		n.list = n.list[:len(n.list)-1]
	}
	k.copyOf(d)
	i, _ := slices.BinarySearchFunc(n.list, k, func(a, b *keptDeployment) int { return -compareDeployments(&a.Deployment, &b.Deployment) })
	n.list = slices.Insert(n.list, i, k)
}

func (n *newestDeployments) deployments() []*model.Deployment {
	out := make([]*model.Deployment, len(n.list))
	for i, k := range n.list {
		out[i] = &k.Deployment
	}
	return out
}

// keptDeployment is a copy of a deployment that shares none of its
// memory, reused for the next copy.
type keptDeployment struct {
	model.Deployment
	durations           []float64
	finished, committed time.Time
}

func (k *keptDeployment) copyOf(d *model.Deployment) {
	steps, durations := k.Steps[:0], k.durations[:0]
	k.Deployment = *d
	k.Steps = append(steps, d.Steps...)
	for _, p := range d.Steps {
		if p.DurationSeconds != nil {
			durations = append(durations, *p.DurationSeconds)
		}
	}
	// Pointed to once every duration is in place: appending may have moved
	// them.
	j := 0
	for i := range k.Steps {
		if k.Steps[i].DurationSeconds != nil {
			k.Steps[i].DurationSeconds = &durations[j]
			j++
		}
	}
	k.durations = durations
	if d.FinishedAt != nil {
		k.finished = *d.FinishedAt
		k.FinishedAt = &k.finished
	}
	if d.CommittedAt != nil {
		k.committed = *d.CommittedAt
		k.CommittedAt = &k.committed
	}
}

// compareDeployments orders deployments as GET /v1/deployments does.
func compareDeployments(a, b *model.Deployment) int {
	return a.Key().Compare(b.Key())
}
