package server_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// jobs edits the builds[] of a Pipeline Hook payload by name.
func jobs(p map[string]any, edit func(name string, b map[string]any)) {
	for _, b := range p["builds"].([]any) {
		b := b.(map[string]any)
		edit(b["name"].(string), b)
	}
}

// TestGitLabPipelineEnvironmentFromTheJobsThatDeploy: a pipeline that
// deploys to staging and has a manual production job, listed first as in
// GitLab's own example payload, recorded its steps in production: the
// environment was the first listed job's, whether it ran or not. It is
// now the staging job's (a manual job that has not started is passed
// over, and of the others the job GitLab created last counts), whatever
// the order of builds[]; once a person plays the production job, its step
// and the pipeline's new end are a production deployment of their own.
func TestGitLabPipelineEnvironmentFromTheJobsThatDeploy(t *testing.T) {
	const fixtureFile = "pipeline_manual_production.json"
	running := func(t *testing.T) []byte {
		return edited(t, fixtureFile, func(p map[string]any) {
			a := p["object_attributes"].(map[string]any)
			a["status"], a["finished_at"] = "running", nil
			jobs(p, func(name string, b map[string]any) {
				switch name {
				case "test":
					b["status"], b["finished_at"] = "running", nil
				case "deploy staging":
					b["status"], b["started_at"], b["finished_at"] = "created", nil, nil
				case "deploy production":
					b["status"] = "manual"
				}
			})
		})
	}
	staging := []string{"build 2m5s", "test 2m0s", "deploy staging 2m5s", "finished end"}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		t.Run("StagingNotTheManualProductionJob", func(t *testing.T) {
			r := ts.gitlabBody(t, "Pipeline Hook", running(t))
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 || a.Steps[0].Environment != "staging" {
				t.Fatalf("running = %d %s; want build and test stored in staging", r.status, r.body)
			}
			r = ts.gitlab(t, "Pipeline Hook", fixtureFile)
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 || a.Replayed != 2 {
				t.Fatalf("success = %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=5e6f7081")
			if len(ds) != 1 || ds[0].Environment != "staging" || !equalStrings(phases(ds[0]), staging) || ds[0].Outcome != model.OutcomeSuccess {
				t.Fatalf("deployments %+v; want one, in staging, with phases %q", ds, staging)
			}
		})

		t.Run("PlayedProductionJobIsAProductionDeployment", func(t *testing.T) {
			played := func(status, finished string) []byte {
				return edited(t, fixtureFile, func(p map[string]any) {
					a := p["object_attributes"].(map[string]any)
					a["status"], a["finished_at"] = status, nil
					if finished != "" {
						a["finished_at"] = "2026-03-02 08:52:05 UTC"
					}
					jobs(p, func(name string, b map[string]any) {
						if name == "deploy production" {
							b["status"], b["started_at"], b["finished_at"] = status, "2026-03-02 08:50:00 UTC", nil
							if finished != "" {
								b["finished_at"] = finished
							}
						}
					})
				})
			}
			r := ts.gitlabBody(t, "Pipeline Hook", played("running", ""))
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 1 || a.Steps[len(a.Steps)-1].Environment != "production" {
				t.Fatalf("played = %d %s; want its step stored in production", r.status, r.body)
			}
			if r := ts.gitlabBody(t, "Pipeline Hook", played("success", "2026-03-02 08:52:00 UTC")); r.status != http.StatusCreated {
				t.Fatalf("success again = %d %s", r.status, r.body)
			}
			want := []string{"deploy production 2m5s", "finished end"}
			if ds := ts.deployments(t, "component=payments&version=5e6f7081&environment=production"); len(ds) != 1 || !equalStrings(phases(ds[0]), want) {
				t.Errorf("production deployments %+v; want one with phases %q", ds, want)
			}
			if ds := ts.deployments(t, "component=payments&version=5e6f7081&environment=staging"); len(ds) != 1 || !equalStrings(phases(ds[0]), staging) {
				t.Errorf("staging deployments %+v; want the first, unchanged", ds)
			}
		})

		t.Run("WhateverTheOrderOfBuilds", func(t *testing.T) {
			ts := newHookServer(t, fresh(t), nil)
			body := edited(t, fixtureFile, func(p map[string]any) {
				slices.Reverse(p["builds"].([]any))
			})
			if r := ts.gitlabBody(t, "Pipeline Hook", body); r.status != http.StatusCreated {
				t.Fatalf("= %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments")
			if len(ds) != 1 || ds[0].Environment != "staging" || !equalStrings(phases(ds[0]), staging) {
				t.Errorf("deployments %+v; want one, in staging, with phases %q", ds, staging)
			}
		})
	})
}
