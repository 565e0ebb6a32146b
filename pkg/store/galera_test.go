package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// TestGaleraNumberingAtStartWhileAnotherNodeWrites: a start that numbers
// the steps an older stepsd wrote, or every deployment after a change of
// terminal statuses, numbers hundreds of targets a transaction. On Galera
// a write through another node to any one of them fails that
// transaction's certification (error 1213), and a replica writing all the
// while made every try lose: in a rolling update from c0edbd5 on three
// nodes, two of the three new replicas exited 1 at start-up, and so would
// their restarts for as long as the writes went on. The start must finish,
// numbering as one node numbers.
func TestGaleraNumberingAtStartWhileAnotherNodeWrites(t *testing.T) {
	dsns := testdb.Galera(t)
	ctx := context.Background()
	rules := model.DefaultDeploymentRules()
	quiet := slog.New(slog.DiscardHandler)
	first := testdb.Open(t, dsns[0])
	writer := testdb.Open(t, dsns[1])
	for _, s := range []*store.Store{first, writer} {
		if err := s.UseRules(ctx, rules, quiet); err != nil {
			t.Fatal(err)
		}
	}

	// An older stepsd's steps: 3 of each of 400 targets, none numbered.
	const targets = 400
	stamp := func(at time.Time) string { return at.Format("2006-01-02 15:04:05.000000") }
	var rows []string
	var args []any
	for i := range targets {
		for k, status := range []string{"build", "tests", "finished"} {
			rows = append(rows, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, fmt.Sprintf("c%d", i%20), fmt.Sprintf("v%d", i), "ana", status, "prod",
				stamp(t0.Add(time.Duration(i)*time.Minute+time.Duration(k)*time.Second)), stamp(t0), nil, nil)
		}
	}
	insert := strings.Replace(oldInsertStep, "(?, ?, ?, ?, ?, ?, ?, ?, ?)", strings.Join(rows, ", "), 1)
	if _, err := first.DB().ExecContext(ctx, insert, args...); err != nil {
		t.Fatal(err)
	}

	// A replica on node 2 writes to those targets all the while.
	writing := func() (stop func() int) {
		var wg sync.WaitGroup
		var wrote atomic.Int64
		done := make(chan struct{})
		var next atomic.Int64
		for w := range 2 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for {
					select {
					case <-done:
						return
					default:
					}
					i := rng.IntN(targets)
					in := model.StepInput{Component: fmt.Sprintf("c%d", i%20), Version: fmt.Sprintf("v%d", i), Owner: "bob",
						Status: []string{"build", "rollout", "failed"}[rng.IntN(3)], Environment: "prod",
						Time: t0.Add(24*time.Hour + time.Duration(next.Add(1))*time.Second)}
					if _, _, err := writer.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
						t.Errorf("write through node 2: %v", err)
						return
					}
					wrote.Add(1)
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		return func() int {
			close(done)
			wg.Wait()
			return int(wrote.Load())
		}
	}

	// Node 1's replica starts again, numbering the older stepsd's steps.
	stop := writing()
	restarted, err := store.Open(ctx, dsns[0], store.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.Close() })
	began := time.Now()
	err = restarted.UseRules(ctx, rules, quiet)
	took := time.Since(began)
	wrote := stop()
	if err != nil {
		t.Fatalf("the start numbering an older stepsd's steps, while node 2 wrote %d steps: %v", wrote, err)
	}
	now := t0.Add(48 * time.Hour)
	var got, want []string
	if _, err := restarted.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
		got = append(got, describe(d))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, d := range oracle(t, restarted, rules, now, model.Filter{}) {
		want = append(want, describe(d))
	}
	if !slices.Equal(got, want) {
		t.Errorf("after the start, against the oracle:\n%s", diff(got, want))
	}
	t.Logf("numbered %d targets of an older stepsd's steps in %s while node 2 wrote %d steps", targets, took.Round(time.Millisecond), wrote)

	// Other terminal statuses: every deployment is numbered again.
	stop = writing()
	other := model.DefaultDeploymentRules()
	other.SuccessStatuses = append(slices.Clone(other.SuccessStatuses), "rollout")
	began = time.Now()
	err = restarted.UseRules(ctx, other, quiet)
	took = time.Since(began)
	wrote = stop()
	if err != nil {
		t.Fatalf("the start numbering every deployment again, while node 2 wrote %d steps: %v", wrote, err)
	}
	t.Logf("numbered every deployment again in %s while node 2 wrote %d steps", took.Round(time.Millisecond), wrote)
}
