package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// oldInsertStep is the INSERT of the release before deployments were
// numbered on write (c2033f1, pkg/store/steps.go): a stepsd of that
// release still serving on a database this one migrated writes steps
// this way, and numbers nothing.
const oldInsertStep = `INSERT INTO steps (component, version, owner, status, environment, time, received_at, idempotency_key, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// TestStepsAnOlderStepsdWroteAreNumberedAtStart: steps that an older
// stepsd wrote into a migrated database (a downgrade, or an old replica
// during a rolling upgrade) were in no deployment, even after this stepsd
// started again. The next start finds them, says how many, and numbers
// their targets exactly as if this stepsd had written every step: the
// same deployments as a database where it did, and as the oracle. MySQL
// only: SQLite marks no such step (its migration says why).
func TestStepsAnOlderStepsdWroteAreNumberedAtStart(t *testing.T) {
	fresh := testdb.MySQL
	ctx := context.Background()
	rules := model.DefaultDeploymentRules()
	quiet := slog.New(slog.DiscardHandler)
	dsn := fresh(t)
	s := testdb.Open(t, dsn)
	ref := testdb.Open(t, fresh(t)) // where this stepsd writes every step
	for _, st := range []*store.Store{s, ref} {
		if err := st.UseRules(ctx, rules, quiet); err != nil {
			t.Fatal(err)
		}
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	type write struct {
		old                        bool // by the older stepsd
		component, version, status string
		minute                     int
	}
	writes := []write{
		{false, "api", "1", "build", 0},
		{true, "api", "1", "tests", 1}, // continues a numbered deployment
		{true, "api", "1", "finished", 2},
		{false, "api", "1", "build", 10}, // this stepsd, unaware the deployment ended
		{true, "web", "1.3", "build", 0}, // a target only the older one wrote
		{true, "web", "1.3", "failed", 5},
		{false, "db", "2", "build", 0},
		{false, "db", "2", "finished", 8},
		{true, "db", "2", "tests", 3},   // late, inside a numbered deployment
		{true, "db", "2", "rollout", 9}, // after its end: the next attempt
	}
	olds := 0
	for _, w := range writes {
		in := model.StepInput{Component: w.component, Version: w.version, Owner: "ana", Status: w.status, Environment: "prod", Time: at(w.minute)}
		mustCreate(t, ref, in, at(60))
		if !w.old {
			mustCreate(t, s, in, at(60))
			continue
		}
		olds++
		stamp := at(w.minute).Format("2006-01-02 15:04:05.000000")
		if _, err := s.DB().ExecContext(ctx, oldInsertStep, w.component, w.version, "ana", w.status, "prod", stamp,
			at(60).Format("2006-01-02 15:04:05.000000"), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	now := at(120)
	list := func(st *store.Store) []string {
		var out []string
		if _, err := st.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			out = append(out, describe(d))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := list(ref)
	if got := list(s); slices.Equal(got, want) {
		t.Fatal("before the restart the older stepsd's steps are already numbered: the test proves nothing")
	}

	// This stepsd starts again.
	var logs testdb.LogBuffer
	restarted, err := store.Open(ctx, dsn, store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if _, err := restarted.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := restarted.UseRules(ctx, rules, slog.New(slog.NewJSONHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"msg":"found steps an older stepsd wrote without numbering their deployments`) ||
		!strings.Contains(logs.String(), fmt.Sprintf(`"steps":%d,"targets":3`, olds)) {
		t.Errorf("the start did not log the %d steps found in 3 targets:\n%s", olds, logs.String())
	}
	if got := list(restarted); !slices.Equal(got, want) {
		t.Errorf("after the restart:\n%s", diff(got, want))
	}
	var oracleSays []string
	for _, d := range oracle(t, restarted, rules, now, model.Filter{}) {
		oracleSays = append(oracleSays, describe(d))
	}
	if !slices.Equal(want, oracleSays) {
		t.Errorf("where this stepsd wrote every step, against the oracle:\n%s", diff(want, oracleSays))
	}

	// The steps are marked numbered: the next start finds none, and
	// writes go on from the numbering.
	logs = testdb.LogBuffer{}
	if err := restarted.UseRules(ctx, rules, slog.New(slog.NewJSONHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "older stepsd") {
		t.Errorf("a second start numbered again:\n%s", logs.String())
	}
	in := model.StepInput{Component: "web", Version: "1.3", Owner: "bob", Status: "build", Environment: "prod", Time: at(30)}
	mustCreate(t, restarted, in, now)
	mustCreate(t, ref, in, now)
	if got, want := list(restarted), list(ref); !slices.Equal(got, want) {
		t.Errorf("a step written after the restart:\n%s", diff(got, want))
	}
}

// TestUnnumberedStepsAreFoundThroughTheirIndex: every start on MySQL looks
// for steps an older stepsd wrote, so the query reads steps_unnumbered,
// which leads with their mark, never a whole index of steps.
func TestUnnumberedStepsAreFoundThroughTheirIndex(t *testing.T) {
	s := testdb.Open(t, testdb.MySQL(t))
	plan := queryRows(t, s.DB(), "EXPLAIN "+store.UnnumberedTargets)
	got := strings.Join(plan, " ")
	if want := `"steps_unnumbered"`; !strings.Contains(got, want) || strings.Contains(got, "steps_deployment") {
		t.Errorf("plan %q, want %q", got, want)
	}
}

// TestBlockAnOlderStepsdLeftStaleIsUnsealedAtStart: an older stepsd that
// renumbers without unsealing (c0edbd5, which has blocks but never called
// unseal; or one from before blocks, after the hour the upgrade waits)
// rewrote a sealed deployment's row, unsealed, while its block still held
// the old copy: stats, changes, DORA and the page counted that deployment
// twice, for good (a rolling update from c0edbd5 on MariaDB: 96
// deployments in stats where a fresh import of the same steps had 95). The
// next start, which numbers the older stepsd's steps, unseals the blocks
// of their series whose rows no longer all name them.
func TestBlockAnOlderStepsdLeftStaleIsUnsealedAtStart(t *testing.T) {
	ctx := context.Background()
	rules := model.DefaultDeploymentRules()
	quiet := slog.New(slog.DiscardHandler)
	dsn := testdb.MySQL(t)
	s, at := sealedTwelveDeployments(t, dsn, rules)
	// The older stepsd records a late step of version 1 and renumbers its
	// target: the step is marked unnumbered (it sets no numbered), and the
	// deployment's row is written again, unsealed, its block left alone.
	if _, err := s.DB().ExecContext(ctx, oldInsertStep, "api", "1", "ana", "tests", "prod",
		at(12).Format("2006-01-02 15:04:05.000000"), at(200).Format("2006-01-02 15:04:05.000000"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE deployments SET sealed = 0 WHERE component = 'api' AND version = '1'`); err != nil {
		t.Fatal(err)
	}

	restarted := testdb.Open(t, dsn)
	if err := restarted.UseRules(ctx, rules, quiet); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := restarted.EachDeployment(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api", Environment: "prod"}}, rules, at(300),
		func(d *model.Deployment) error {
			got = append(got, fmt.Sprintf("%s %d steps", d.Version, len(d.Steps)))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 12 {
		n := 2
		if i == 1 {
			n = 3
		}
		want = append(want, fmt.Sprintf("%d %d steps", i, n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("deployments read through blocks after the restart:\n%s", diff(got, want))
	}
}

// TestNumberingEverythingAgainDropsStaleBlocks: the renumbering
// operations.md has an operator run after a downgrade (delete the record
// of the terminal statuses, start again) found blocks through the rows
// naming them, so a block none of whose rows named it any more (an older
// stepsd rewrote them all, or the one row of a short block) stayed, and
// its deployments were read twice. It drops every block that does not
// hold all its rows first.
func TestNumberingEverythingAgainDropsStaleBlocks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		rules := model.DefaultDeploymentRules()
		quiet := slog.New(slog.DiscardHandler)
		dsn := fresh(t)
		s, at := sealedTwelveDeployments(t, dsn, rules)
		// An older stepsd rewrote every deployment of the first block
		// unsealed; the operator then has the history numbered again.
		for _, q := range []string{
			`UPDATE deployments SET sealed = 0 WHERE sealed = (SELECT MIN(id) FROM deployment_blocks)`,
			`DELETE FROM steps_numbering WHERE name = 'terminal_statuses'`,
		} {
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		restarted := testdb.Open(t, dsn)
		if err := restarted.UseRules(ctx, rules, quiet); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		if err := restarted.EachDeployment(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api", Environment: "prod"}}, rules, at(300),
			func(d *model.Deployment) error {
				got = append(got, d.Version)
				return nil
			}); err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			want = append(want, fmt.Sprint(i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("deployments read through blocks after numbering everything again: %q; want %q", got, want)
		}
	})
}

// sealedTwelveDeployments opens the database at dsn under rules with
// blocks of 4, and stores and seals twelve two-step deployments of api in
// prod, ten minutes apart from t0 (at gives t0 plus m minutes): three
// blocks for an older stepsd to leave stale.
func sealedTwelveDeployments(t *testing.T, dsn string, rules model.DeploymentRules) (s *store.Store, at func(m int) time.Time) {
	t.Helper()
	ctx := context.Background()
	s = testdb.Open(t, dsn)
	if err := s.UseRules(ctx, rules, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	s.TuneSealing(4, 0, false)
	at = func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var batch []model.StepInput
	for i := range 12 {
		for j, status := range []string{"build", "finished"} {
			batch = append(batch, model.StepInput{Component: "api", Version: fmt.Sprint(i), Environment: "prod", Owner: "ana",
				Status: status, Time: at(10*i + 5*j)})
		}
	}
	if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: at(200)}); err != nil {
		t.Fatal(err)
	}
	if blocks, err := s.Seal(ctx, time.Now(), nil); err != nil || blocks != 3 {
		t.Fatalf("sealed %d blocks (%v); want 3", blocks, err)
	}
	return s, at
}
