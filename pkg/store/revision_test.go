package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// TestRevisionAndCommitTime: steps keep the revision and commit time they
// were sent with, through every write path (single, group commit, batch,
// batch with ids read back), and read back as not given when they were
// not; a deployment carries the latest given on its steps (by time, then
// id), through extensions, late steps and renumbering.
func TestRevisionAndCommitTime(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		s := testdb.Open(t, dsn)
		c1 := time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.FixedZone("CET", 3600))
		c1Stored := time.Date(2026, 3, 1, 7, 0, 0, 123456000, time.UTC)
		c2 := time.Date(2026, 3, 1, 20, 30, 0, 0, time.UTC)
		step := func(status string, at time.Duration, rev string, committed time.Time) model.StepInput {
			return model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Environment: "prod", Status: status,
				Time: t0.Add(at), Revision: rev, CommittedAt: committed}
		}

		// Alone (group commit), with spaces around the revision.
		build := mustCreate(t, s, step("build", 0, "  a1b2c3  ", c1), t0)
		if build.Revision != "a1b2c3" || build.CommittedAt == nil || !build.CommittedAt.Equal(c1Stored) || build.CommittedAt.Location() != time.UTC {
			t.Fatalf("CreateStep = %+v, want revision a1b2c3 committed %v", build, c1Stored)
		}
		// Neither given.
		tests := mustCreate(t, s, step("tests", 2*time.Minute, "", time.Time{}), t0)
		// A batch: a late step with a revision, before the latest given
		// (the build's, at 0) is replaced by "later", then two steps of
		// one time, where the higher id wins.
		batch, _, err := s.CreateSteps(ctx, []model.StepInput{
			step("check", time.Minute, "later", time.Time{}),
			step("rollout", 3*time.Minute, "tie1", time.Time{}),
			step("rollout", 3*time.Minute, "tie2", c2),
		}, model.RecordMeta{ReceivedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		if batch[2].Revision != "tie2" || batch[2].CommittedAt == nil || !batch[2].CommittedAt.Equal(c2) {
			t.Fatalf("CreateSteps = %+v", batch)
		}
		// An extension without either keeps the deployment's.
		mustCreate(t, s, step("finished", 4*time.Minute, "", time.Time{}), t0)
		// The next attempt, batch with ids read back (as on MySQL without
		// consecutive ids): its own revision, no commit time.
		rb := testdb.Open(t, dsn)
		store.ForceReadBackIDs(rb)
		if _, _, err := rb.CreateSteps(ctx, []model.StepInput{step("build", time.Hour, "next", time.Time{})}, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}

		found, err := s.FindStep(ctx, build.ID)
		if err != nil || found.Revision != build.Revision || found.CommittedAt == nil || !found.CommittedAt.Equal(*build.CommittedAt) {
			t.Errorf("FindStep = %+v, %v; want %+v", found, err, build)
		}
		steps, _ := mustList(t, s, model.Filter{})
		got := map[int64]model.Step{}
		for _, st := range steps {
			got[st.ID] = st
		}
		if g := got[tests.ID]; g.Revision != "" || g.CommittedAt != nil {
			t.Errorf("a step sent without them lists %q %v", g.Revision, g.CommittedAt)
		}
		if g := got[build.ID]; g.Revision != "a1b2c3" || g.CommittedAt == nil || !g.CommittedAt.Equal(c1Stored) {
			t.Errorf("build lists %q %v", g.Revision, g.CommittedAt)
		}
		if g := got[batch[1].ID]; g.Revision != "tie1" || g.CommittedAt != nil {
			t.Errorf("batch step lists %q %v", g.Revision, g.CommittedAt)
		}

		check := func(when string) {
			t.Helper()
			var deps []*model.Deployment
			if _, err := s.ListDeployments(ctx, model.DeploymentFilter{}, model.DefaultDeploymentRules(), t0.Add(2*time.Hour),
				func(d *model.Deployment) error {
					deps = append(deps, d)
					return nil
				}); err != nil {
				t.Fatal(err)
			}
			if len(deps) != 2 {
				t.Fatalf("%s: %d deployments, want 2", when, len(deps))
			}
			if d := deps[0]; d.Revision != "tie2" || d.CommittedAt == nil || !d.CommittedAt.Equal(c2) {
				t.Errorf("%s: first deployment has %q %v, want tie2 %v", when, d.Revision, d.CommittedAt, c2)
			}
			if d := deps[1]; d.Revision != "next" || d.CommittedAt != nil {
				t.Errorf("%s: second deployment has %q %v, want next and none", when, d.Revision, d.CommittedAt)
			}
		}
		check("as written")
		// A late step inside the first deployment, before the ties: it
		// renumbers the target and changes nothing of these.
		mustCreate(t, s, step("check", 2*time.Minute+time.Second, "late", c1), t0)
		check("after a late step")
		// Renumbering the whole history reads them back from the steps.
		other := model.DefaultDeploymentRules()
		other.SuccessStatuses = append([]string{"canary"}, other.SuccessStatuses...)
		if err := s.UseRules(ctx, other, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		check("after renumbering")

		// A replay returns them; another revision under the same key is
		// another step, refused.
		keyed := step("build", 3*time.Hour, "k1", c2)
		first, _, err := s.CreateStep(ctx, keyed, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "key-1"})
		if err != nil {
			t.Fatal(err)
		}
		again, replayed, err := s.CreateStep(ctx, keyed, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "key-1"})
		if err != nil || !replayed || again.ID != first.ID || again.Revision != "k1" || again.CommittedAt == nil || !again.CommittedAt.Equal(c2) {
			t.Errorf("replay = %+v, %v, %v", again, replayed, err)
		}
		keyed.Revision = "k2"
		if _, _, err := s.CreateStep(ctx, keyed, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "key-1"}); model.ErrorCode(err) != model.EUNPROCESSABLE {
			t.Errorf("same key, other revision: %v, want unprocessable", err)
		}

		// A revision too long is refused, naming the field.
		long := step("build", 2*time.Hour, strings.Repeat("a", model.MaxRevisionLen+1), time.Time{})
		if _, _, err := s.CreateStep(ctx, long, model.RecordMeta{ReceivedAt: t0}); model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), "revision") {
			t.Errorf("a revision of %d characters: %v", len(long.Revision), err)
		}
	})
}
