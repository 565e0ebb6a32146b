package server

import (
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

func (s *Server) loadDashboard(ctx context.Context, f model.Filter, opts model.StatsOptions, now time.Time) (dashboard, error) {
	// The changes come from the same pass and the same accumulator: the
	// page reads the store once, and keeps each deployment once.
	acc := model.NewStatsAccumulator(opts)
	// And the four keys, over the same range and buckets.
	dopts := model.DORAOptions{Bucket: opts.Bucket, SprintDays: opts.SprintDays, SprintStart: opts.SprintStart,
		Since: f.Since, Until: f.Until, Now: now}
	if err := dopts.Validate(); err != nil {
		return dashboard{}, err
	}
	dora := model.NewDORAAccumulator(dopts)
	latest := newestDeployments{max: uiRecent}
	unfinished := newestDeployments{max: uiRecent}
	var d dashboard
	components, environments := map[string]bool{}, map[string]bool{}
	err := s.store.EachDeployment(ctx, model.DeploymentFilter{Filter: f}, s.rules, now, func(dep *model.Deployment) error {
		acc.Add(dep)
		dora.Add(dep)
		d.total++
		latest.add(dep)
		if dep.Outcome == model.OutcomeInProgress {
			d.running++
			if dep.Stuck {
				d.stuck++
			}
			unfinished.add(dep)
		}
		// Suggestions for the filter form, bounded however many there are.
		if len(components) < 500 {
			components[dep.Component] = true
		}
		if len(environments) < 100 {
			environments[dep.Environment] = true
		}
		return nil
	})
	if err == nil {
		err = acc.CheckSize()
	}
	if err == nil {
		err = dora.CheckSize()
	}
	if err != nil {
		return d, err
	}
	d.stats = acc.Result()
	d.changes = acc.Changes()
	d.dora = dora.Result()
	// Deployments still running are listed even when newer ones have
	// pushed them out of the latest: those are the ones to look at.
	d.recent = latest.list
	for _, dep := range unfinished.list {
		if !slices.Contains(d.recent, dep) {
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
	d.components = sortedKeys(components)
	d.environments = sortedKeys(environments)
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

// newestDeployments keeps the max newest deployments it is given, newest
// first.
type newestDeployments struct {
	max  int
	list []*model.Deployment
}

func (n *newestDeployments) add(d *model.Deployment) {
	if len(n.list) == n.max && compareDeployments(d, n.list[len(n.list)-1]) <= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(n.list, d, func(a, b *model.Deployment) int { return -compareDeployments(a, b) })
	n.list = slices.Insert(n.list, i, d)
	if len(n.list) > n.max {
		n.list = n.list[:n.max]
	}
}

// compareDeployments orders deployments as GET /v1/deployments does.
func compareDeployments(a, b *model.Deployment) int {
	return a.Key().Compare(b.Key())
}
