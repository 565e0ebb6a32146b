package hooks

import (
	"slices"
	"testing"
)

func TestGLPipelineEnv(t *testing.T) {
	env := func(name string) *glEnvironment { return &glEnvironment{Name: name, Action: "start"} }
	job := func(id int64, status, started, when string, e *glEnvironment) glBuild {
		return glBuild{ID: id, Name: "job" + string(rune('0'+id%10)), Status: status, StartedAt: started, When: when, Manual: when == "manual", Environment: e}
	}
	for _, c := range []struct {
		name   string
		builds []glBuild
		want   string
	}{
		{"NoDeployJob", []glBuild{job(1, "success", "t", "on_success", nil)}, ""},
		// One environment: it, whatever became of its job.
		{"OnlyASkippedJob", []glBuild{job(2, "skipped", "", "on_success", env("production"))}, "production"},
		{"OnlyAManualJob", []glBuild{job(2, "manual", "", "manual", env("production"))}, "production"},
		// GitLab's example: the manual production job is passed over.
		{"ManualSkippedAndCreated", []glBuild{job(5, "skipped", "", "manual", env("production")), job(4, "created", "", "on_success", env("staging"))}, "staging"},
		{"ManualPlayed", []glBuild{job(5, "running", "t2", "manual", env("production")), job(4, "success", "t1", "on_success", env("staging"))}, "production"},
		// Staging then production, both automatic: production at every
		// moment, so the pipeline's steps stay one deployment.
		{"BothCreated", []glBuild{job(4, "created", "", "on_success", env("staging")), job(5, "created", "", "on_success", env("production"))}, "production"},
		{"StagingRunning", []glBuild{job(4, "running", "t1", "on_success", env("staging")), job(5, "created", "", "on_success", env("production"))}, "production"},
		{"StagingFailedProductionSkipped", []glBuild{job(4, "failed", "t1", "on_success", env("staging")), job(5, "skipped", "", "on_success", env("production"))}, "production"},
		{"AllManual", []glBuild{job(4, "manual", "", "manual", env("staging")), job(5, "manual", "", "manual", env("production"))}, "production"},
	} {
		for _, order := range []string{"listed", "reversed"} {
			builds := slices.Clone(c.builds)
			if order == "reversed" {
				slices.Reverse(builds)
			}
			if got := glPipelineEnv(builds, &Mapping{}); got != c.want {
				t.Errorf("%s (%s): %q, want %q", c.name, order, got, c.want)
			}
		}
	}
	// deploys.jobs leaves the others out.
	m := &Mapping{}
	m.Deploys.Jobs = []string{"job4"}
	if got := glPipelineEnv([]glBuild{job(4, "created", "", "on_success", env("staging")), job(5, "running", "t", "on_success", env("production"))}, m); got != "staging" {
		t.Errorf("with deploys.jobs: %q, want staging", got)
	}
}
