package hooks

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2021, 4, 28, 19, 50, 0, 0, time.UTC)
	for _, v := range []string{"2021-04-28T19:50:00Z", "2021-04-28 19:50:00 UTC", "2021-04-28 21:50:00 +0200", "2021-04-28T21:50:00+02:00", "2021-04-28 19:50:00 GMT"} {
		got, err := parseTime("t", v)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	// The zero time is a time given, not none: stored as "no time", the
	// step took the server's receipt time instead of the one sent.
	for _, v := range []string{"0001-01-01 00:00:00 UTC", "0001-01-01T00:00:00Z"} {
		if got, err := parseTime("started_at", v); err == nil {
			t.Errorf("parseTime(%q) = %v, nil; want an error", v, got)
		}
	}
	// A zone abbreviation other than UTC says no offset Go can trust: an
	// unknown one was read as UTC, a known one by the server's own zone.
	for _, v := range []string{"2021-04-28 21:50:00 CEST", "2021-04-28 15:50:00 EST", "2021-04-28 12:50:00 PDT"} {
		if got, err := parseTime("started_at", v); err == nil {
			t.Errorf("parseTime(%q) = %v, nil; want an error naming the zone", v, got)
		}
	}
	if _, err := parseTime("status_changed_at", "yesterday"); err == nil {
		t.Error("parseTime(yesterday) did not fail")
	}
}

func TestVersion(t *testing.T) {
	for _, c := range []struct {
		ref   string
		tag   bool
		sha   string
		short int
		want  string
	}{
		{"main", false, "9f4e2c1a7b3d", 7, "9f4e2c1"},
		{"v1.4.0", false, "9f4e2c1a7b3d", 7, "v1.4.0"},
		{"refs/tags/2.0", false, "9f4e2c1a7b3d", 7, "2.0"},
		{"release-candidate", true, "9f4e2c1a7b3d", 8, "release-candidate"},
		{"feature/v1", false, "9f4e2c1a7b3d", 8, "9f4e2c1a"},
		{"", false, "abc", 8, "abc"},
		{"v1", false, "9f4e2c1a7b3d", 7, "v1"},
		{"v2.0.0-rc.1", false, "9f4e2c1a7b3d", 7, "v2.0.0-rc.1"},
		{"1.2.3.RELEASE", false, "9f4e2c1a7b3d", 7, "1.2.3.RELEASE"},
		// GitHub's branch for issue 123, and other branches that begin
		// with a number, are not versions: each commit is its own.
		{"123-fix-login-bug", false, "9f4e2c1a7b3d", 7, "9f4e2c1"},
		{"2024", false, "9f4e2c1a7b3d", 7, "9f4e2c1"},
		{"v2-redesign", false, "9f4e2c1a7b3d", 7, "9f4e2c1"},
		// A deployment of refs/tags/… is of a tag, whatever its name.
		{"refs/tags/release-candidate", false, "9f4e2c1a7b3d", 7, "release-candidate"},
		{"refs/heads/1.2", false, "9f4e2c1a7b3d", 7, "9f4e2c1"},
	} {
		if got := version(c.ref, c.tag, c.sha, c.short); got != c.want {
			t.Errorf("version(%q, %v, %q) = %q, want %q", c.ref, c.tag, c.sha, got, c.want)
		}
	}
}

func TestSignatures(t *testing.T) {
	body := []byte(`{"zen":"x"}`)
	sig := SignGitHub("s3cret", body)
	if !VerifyGitHubSignature("s3cret", sig, body) {
		t.Error("own signature refused")
	}
	for _, bad := range []string{"", sig[7:], "sha256=" + sig[8:], "sha1=" + sig[7:]} {
		if VerifyGitHubSignature("s3cret", bad, body) {
			t.Errorf("signature %q accepted", bad)
		}
	}
	if VerifyGitHubSignature("", SignGitHub("", body), body) {
		t.Error("an empty secret verified a signature")
	}
	if !VerifyGitLabToken("tok", "tok") || VerifyGitLabToken("tok", "to") || VerifyGitLabToken("", "") {
		t.Error("VerifyGitLabToken")
	}
}

func TestParseMappingRefusesTyposAndBadPatterns(t *testing.T) {
	if _, err := ParseMapping([]byte("deploy:\n  workflows: [x]\n")); err == nil {
		t.Error("unknown key accepted")
	}
	if _, err := ParseMapping([]byte("deploys:\n  jobs: ['[']\n")); err == nil {
		t.Error("bad pattern accepted")
	}
	if m, err := ParseMapping(nil); err != nil || m == nil {
		t.Errorf("empty file: %v", err)
	}
}

// seeds adds the server's fixtures of a provider to a fuzz corpus.
func seeds(f *testing.F, dir string, events map[string]string) {
	files, _ := filepath.Glob(filepath.Join("..", "server", "testdata", "hooks", dir, "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for prefix, event := range events {
			if len(filepath.Base(file)) >= len(prefix) && filepath.Base(file)[:len(prefix)] == prefix {
				f.Add(event, b)
			}
		}
	}
}

// checkResult holds a decoder to its promise: whatever the payload, no
// panic, and every record it returns would be accepted as a step.
func checkResult(t *testing.T, r Result, err error) {
	if err != nil || r.Ignored != "" {
		if len(r.Records) > 0 {
			t.Errorf("records with an error or a reason: %+v", r)
		}
		return
	}
	if len(r.Records) == 0 {
		t.Error("no records and no reason")
	}
	for _, rec := range r.Records {
		if err := rec.Step.Validate(); err != nil {
			t.Errorf("record %+v: %v", rec, err)
		}
		if rec.Key == "" || model.ValidateIdempotencyKey(rec.Key) != nil {
			t.Errorf("record key %q", rec.Key)
		}
	}
}

func FuzzGitHub(f *testing.F) {
	seeds(f, "github", map[string]string{"workflow_job": "workflow_job", "deployment_status": "deployment_status", "workflow_run": "workflow_run"})
	f.Add("workflow_job", []byte(`{"action":"completed","workflow_job":{"id":1,"completed_at":"x"}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		r, err := GitHub(event, body, nil)
		checkResult(t, r, err)
	})
}

func FuzzGitLab(f *testing.F) {
	seeds(f, "gitlab", map[string]string{"pipeline": "Pipeline Hook", "job": "Job Hook", "deployment": "Deployment Hook", "push": "System Hook"})
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		r, err := GitLab(event, body, nil)
		checkResult(t, r, err)
	})
}

func TestRevision(t *testing.T) {
	long := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct{ sha, want string }{
		{"9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b", "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b"},
		{"9A8B7C6D", "9A8B7C6D"},
		{long, long}, // SHA-256 repositories
		{long + "0", ""},
		{"", ""},
		{"commit", ""},
		{".", ""}, // path.Base of an empty commit_url
	} {
		if got := revision(c.sha); got != c.want {
			t.Errorf("revision(%q) = %q, want %q", c.sha, got, c.want)
		}
	}
}

func TestMatrixEnvironment(t *testing.T) {
	long := "Deploy to every region of the platform, one leg per region (eu-west-1, canary)"
	for _, c := range []struct{ env, job, want string }{
		{"Deploy", "deploy", "Deploy"},
		{"Deploy", "deploy (eu-west-1)", "Deploy (eu-west-1)"},
		{"CI", "test (ubuntu-latest, 18)", "CI (ubuntu-latest, 18)"},
		{"production", "deploy (eu-west-1) / rollout", "production (eu-west-1)"},
		{"Deploy", "deploy(eu)", "Deploy"}, // GitHub puts a space before the values
		{"", "deploy (eu-west-1)", "(eu-west-1)"},
		{"Deploy", long, stepStatus("Deploy (eu-west-1, canary)")},
		{long, "deploy (eu-west-1)", stepStatus(long + " (eu-west-1)")},
	} {
		got := matrixEnvironment(c.env, c.job)
		if got != c.want || len([]rune(got)) > model.MaxEnvironmentLen {
			t.Errorf("matrixEnvironment(%q, %q) = %q, want %q (at most %d characters)", c.env, c.job, got, c.want, model.MaxEnvironmentLen)
		}
	}
}
