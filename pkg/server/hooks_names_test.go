package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// githubJob is the workflow_job fixture with its action, steps and end
// replaced, as GitHub sends the job at another moment.
func githubJob(t *testing.T, action string, steps []map[string]any, completedAt any) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, "github/workflow_job_completed_success.json"), &p); err != nil {
		t.Fatal(err)
	}
	p["action"] = action
	j := p["workflow_job"].(map[string]any)
	j["status"], j["steps"], j["completed_at"] = action, steps, completedAt
	if action != "completed" {
		j["conclusion"] = nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHookLongNamesAreShortenedNotDropped: a status may have 64
// characters, and GitHub names the post step of an action pinned to a
// commit (as Renovate pins them) "Post Run actions/setup-node@<40 hex>":
// the whole job was answered 202 and nothing of it stored. The hook
// derives the status, so such a name is stored under the shortened form
// docs/integrations.md gives, the same in every delivery, and replays
// still dedupe. GitLab job names (up to 255 characters) likewise, the
// same from a Job Hook as from the Pipeline Hook.
func TestHookLongNamesAreShortenedNotDropped(t *testing.T) {
	const (
		checkout  = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
		setupNode = "actions/setup-node@2fdd0f6d2c2b1f5e9a0f2b7c9d1e3f4a5b6c7d8e"
		// As docs/integrations.md gives it.
		postSetupNode = "Post Run actions/setup-node@2fdd0f6d2c2b1f5e9a0f2b7c9d1…eef14240"
		postCheckout  = "Post Run actions/checkout@11bd71901bbe5b1630ceea73d2759…2c3fe860"
	)
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		t.Run("GitHubPostStepsOfPinnedActions", func(t *testing.T) {
			step := func(n int, name, status, started string) map[string]any {
				s := map[string]any{"name": name, "status": status, "conclusion": nil, "number": n,
					"started_at": "2026-03-02T08:" + started + "Z", "completed_at": nil}
				if status == "completed" {
					s["conclusion"] = "success"
				}
				return s
			}
			steps := []map[string]any{
				step(1, "Set up job", "completed", "00:00"),
				step(2, "Run "+checkout, "completed", "00:05"),
				step(3, "Run "+setupNode, "completed", "00:10"),
				step(4, "Build", "completed", "00:20"),
				step(5, "Post Run "+setupNode, "in_progress", "02:00"),
			}
			// In its post steps: the job so far.
			r := ts.hookDelivery(t, "github", githubJob(t, "in_progress", steps, nil))
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 5 || a.Steps[4].Status != postSetupNode {
				t.Fatalf("in_progress = %d %s; want 201 with 5 steps, the last %q", r.status, r.body, postSetupNode)
			}
			steps[4] = step(5, "Post Run "+setupNode, "completed", "02:00")
			steps = append(steps, step(6, "Post Run "+checkout, "completed", "02:05"), step(7, "Complete job", "completed", "02:10"))
			completed := githubJob(t, "completed", steps, "2026-03-02T08:02:12Z")
			r = ts.hookDelivery(t, "github", completed)
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 3 || a.Replayed != 5 {
				t.Fatalf("completed = %d %s; want 201, 3 stored, 5 replayed", r.status, r.body)
			}
			before := ts.count(t)
			r = ts.hookDelivery(t, "github", completed) // GitHub's "Redeliver"
			if a := r.hook(t); r.status != http.StatusOK || a.Stored != 0 || a.Replayed != 8 || ts.count(t) != before {
				t.Fatalf("redelivery = %d %s, %d steps stored; want 200 with 8 replayed", r.status, r.body, ts.count(t)-before)
			}
			ds := ts.deployments(t, "component=api&version=9f4e2c1")
			if len(ds) != 1 {
				t.Fatalf("%d deployments, want 1", len(ds))
			}
			want := []string{"Set up job 5s", "Run " + checkout + " 5s", "Run " + setupNode + " 10s", "Build 1m40s",
				postSetupNode + " 5s", postCheckout + " 5s", "Complete job 2s", "finished end"}
			if got := phases(ds[0]); !equalStrings(got, want) || ds[0].Outcome != model.OutcomeSuccess {
				t.Errorf("phases\n got %q\nwant %q (outcome %s)", got, want, ds[0].Outcome)
			}
			// The shortened name is a status like any: a filter finds it.
			r = ts.do(t, "GET", "/v1/steps?format=csv&status="+url.QueryEscape(postSetupNode), nil, "Authorization", "Bearer write-secret-123")
			if rows := strings.Count(string(r.body), "\n"); r.status != http.StatusOK || rows != 2 {
				t.Errorf("status=%s = %d, %d lines; want the header and one step:\n%s", postSetupNode, r.status, rows, r.body)
			}
		})

		t.Run("GitLabJobNameOf255Characters", func(t *testing.T) {
			// Three bytes a character past the first few: a cut by bytes
			// would split one.
			name := []rune("deploy production " + strings.Repeat("本番環境へのデプロイ ", 30))[:255]
			long := string(name)
			job := edited(t, "job_failed.json", func(p map[string]any) {
				p["build_id"], p["build_name"], p["build_status"], p["pipeline_id"] = 5003, long, "running", 1201
				p["build_started_at"], p["build_finished_at"], p["sha"] = "2026-03-02 08:15:10 UTC", nil, "4f1c2b3a9d8e7f6051a2b3c4d5e6f708192a3b4c"
				p["environment"] = map[string]any{"name": "production", "action": "start"}
			})
			r := ts.gitlabBody(t, "Job Hook", job)
			a := r.hook(t)
			if r.status != http.StatusCreated || a.Stored != 1 {
				t.Fatalf("job = %d %s; want 201 with its start", r.status, r.body)
			}
			status := a.Steps[0].Status
			if !utf8.ValidString(status) || utf8.RuneCountInString(status) > model.MaxStatusLen ||
				!strings.HasPrefix(status, string(name[:55])) || !regexp.MustCompile(`^.{55}…[0-9a-f]{8}$`).MatchString(status) {
				t.Errorf("status %q: want the first 55 characters, … and 8 hex digits", status)
			}
			pipeline := edited(t, "pipeline_success.json", func(p map[string]any) {
				for _, b := range p["builds"].([]any) {
					if b := b.(map[string]any); b["name"] == "deploy production" {
						b["name"] = long
					}
				}
			})
			r = ts.gitlabBody(t, "Pipeline Hook", pipeline)
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 3 || a.Replayed != 1 {
				t.Fatalf("pipeline = %d %s; want 201, 3 stored, the job's start replayed", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=4f1c2b3a")
			want := []string{"build 2m5s", "test 3m5s", status + " 3m2s", "finished end"}
			if len(ds) != 1 || !equalStrings(phases(ds[0]), want) || ds[0].Environment != "production" {
				t.Fatalf("deployments %+v; want one in production with phases %q", ds, want)
			}
		})
	})
}
