package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// deploymentSteps is the steps of every deployment of component, in order.
func deploymentSteps(t *testing.T, s *store.Store, component string) []int {
	t.Helper()
	var got []int
	err := s.EachDeployment(context.Background(), model.DeploymentFilter{Filter: model.Filter{Component: component}},
		model.DefaultDeploymentRules(), t0.Add(24*time.Hour), func(d *model.Deployment) error {
			got = append(got, len(d.Steps))
			return nil
		})
	if err != nil {
		t.Fatalf("EachDeployment: %v", err)
	}
	return got
}

func wantUnprocessable(t *testing.T, what string, err error) {
	t.Helper()
	if code := model.ErrorCode(err); code != model.EUNPROCESSABLE {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, code, model.EUNPROCESSABLE)
	}
}

// TestDeploymentStepsAreBounded: a deployment holds at most
// model.MaxDeploymentSteps steps before the one that ends it (lowered
// here to 5), on the cached path, the locked read's and renumbering's.
func TestDeploymentStepsAreBounded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		s := testdb.Open(t, dsn)
		store.SetMaxDeploymentSteps(s, 5)
		in := func(status string) model.StepInput {
			return model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: status}
		}
		for i := range 5 {
			mustCreate(t, s, in("build"), t0.Add(time.Duration(i)*time.Minute))
		}
		_, _, err := s.CreateStep(ctx, in("build"), model.RecordMeta{ReceivedAt: t0.Add(10 * time.Minute)})
		wantUnprocessable(t, "sixth step", err)
		if !strings.Contains(model.ErrorMessage(err), "deployment 1 of api 1 already holds 5 steps") {
			t.Errorf("message %q does not name the deployment and the bound", model.ErrorMessage(err))
		}

		// A store that has cached nothing reads the count with the row.
		other := testdb.Open(t, dsn)
		store.SetMaxDeploymentSteps(other, 5)
		_, _, err = other.CreateStep(ctx, in("tests"), model.RecordMeta{ReceivedAt: t0.Add(11 * time.Minute)})
		wantUnprocessable(t, "sixth step, uncached", err)
		_, _, err = other.CreateSteps(ctx, []model.StepInput{in("tests")}, model.RecordMeta{ReceivedAt: t0.Add(11 * time.Minute)})
		wantUnprocessable(t, "sixth step in a batch", err)

		// A late step renumbers the deployment it lands in: refused too.
		late := in("late")
		late.Time = t0.Add(30 * time.Second)
		_, _, err = s.CreateStep(ctx, late, model.RecordMeta{ReceivedAt: t0.Add(12 * time.Minute)})
		wantUnprocessable(t, "late step", err)

		// The step that ends it is always taken; the next starts anew.
		mustCreate(t, other, in("finished"), t0.Add(13*time.Minute))
		mustCreate(t, s, in("build"), t0.Add(14*time.Minute))
		if got, want := fmt.Sprint(deploymentSteps(t, s, "api")), "[6 1]"; got != want {
			t.Errorf("deployments' steps %s, want %s", got, want)
		}

		// A batch that starts a deployment is held to the bound too.
		var batch []model.StepInput
		for range 6 {
			batch = append(batch, model.StepInput{Component: "web", Version: "1", Owner: "ana", Status: "build"})
		}
		_, _, err = s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0})
		wantUnprocessable(t, "batch of 6", err)
		if got := deploymentSteps(t, s, "web"); len(got) != 0 {
			t.Errorf("a refused batch stored deployments %v", got)
		}

		// Steps committed together: only the one past the bound is
		// refused, the others are stored.
		full := model.StepInput{Component: "full", Version: "1", Owner: "ana", Status: "build"}
		for range 5 {
			mustCreate(t, s, full, t0)
		}
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				st := model.StepInput{Component: fmt.Sprintf("c%d", i), Version: "1", Owner: "ana", Status: "build"}
				if i == 0 {
					st = full
				}
				_, _, errs[i] = s.CreateStep(ctx, st, model.RecordMeta{ReceivedAt: t0.Add(15 * time.Minute)})
			})
		}
		wg.Wait()
		wantUnprocessable(t, "step past the bound among others", errs[0])
		for i, err := range errs {
			if i > 0 && err != nil {
				t.Errorf("step %d beside one past the bound: %v", i, err)
			}
		}
	})
}

// TestFullDeploymentIsReadable writes a deployment of
// model.MaxDeploymentSteps steps of the longest statuses: stored and read
// back on every database, and the next step refused. Past the bound, on
// MariaDB, the row outgrew max_allowed_packet (16 MiB): its writes failed
// and every read of deployments with it.
func TestFullDeploymentIsReadable(t *testing.T) {
	skipVolumeUnderRace(t, "writes 50,000 steps, one batch at a time")
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		status := strings.Repeat("😀", 64)
		n := 0
		batch := func() []model.StepInput {
			ins := make([]model.StepInput, model.MaxBatchSteps)
			for i := range ins {
				ins[i] = model.StepInput{Component: "big", Version: "1", Owner: "ana", Status: status,
					Time: t0.Add(time.Duration(n) * time.Second)}
				n++
			}
			return ins
		}
		for range model.MaxDeploymentSteps / model.MaxBatchSteps {
			if _, _, err := s.CreateSteps(ctx, batch(), model.RecordMeta{ReceivedAt: t0.Add(30 * 24 * time.Hour)}); err != nil {
				t.Fatalf("batch up to the bound: %v", err)
			}
		}
		_, _, err := s.CreateSteps(ctx, batch(), model.RecordMeta{ReceivedAt: t0.Add(30 * 24 * time.Hour)})
		wantUnprocessable(t, "batch past the bound", err)
		if got, want := fmt.Sprint(deploymentSteps(t, s, "big")), fmt.Sprint([]int{model.MaxDeploymentSteps}); got != want {
			t.Errorf("deployments' steps %s, want %s", got, want)
		}
		end := model.StepInput{Component: "big", Version: "1", Owner: "ana", Status: "finished"}
		mustCreate(t, s, end, t0.Add(30*24*time.Hour))
		if got, want := fmt.Sprint(deploymentSteps(t, s, "big")), fmt.Sprint([]int{model.MaxDeploymentSteps + 1}); got != want {
			t.Errorf("deployments' steps %s, want %s", got, want)
		}
	})
}

// TestSealingLeavesOversizedGroupsAsRows: deployments that start together
// are sealed into one block whole, and two large ones made a block past
// what a MEDIUMBLOB and MariaDB's max_allowed_packet hold. The failed
// block ended every pass of sealing there, so no series after it was
// ever sealed. Such a group stays rows; the others are sealed.
func TestSealingLeavesOversizedGroupsAsRows(t *testing.T) {
	skipVolumeUnderRace(t, "writes 64,000 steps, one batch at a time")
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		s.TuneSealing(2, 0, false)
		status := strings.Repeat("😀", 64)
		meta := model.RecordMeta{ReceivedAt: t0.Add(30 * 24 * time.Hour)}
		// Component "big": versions a and b start together, 32,000 steps
		// each (about 8.7 MB a row), then end.
		for _, version := range []string{"a", "b"} {
			for b := range 4 {
				ins := make([]model.StepInput, 8000)
				for i := range ins {
					ins[i] = model.StepInput{Component: "big", Version: version, Owner: "ana", Status: status,
						Time: t0.Add(time.Duration(b*len(ins)+i) * time.Millisecond)}
				}
				if _, _, err := s.CreateSteps(ctx, ins, meta); err != nil {
					t.Fatal(err)
				}
			}
			mustCreate(t, s, model.StepInput{Component: "big", Version: version, Owner: "ana", Status: "finished", Time: t0.Add(time.Minute)}, meta.ReceivedAt)
		}
		// Component "small", sorted after it: four short deployments.
		for i := range 4 {
			for _, status := range []string{"build", "finished"} {
				mustCreate(t, s, model.StepInput{Component: "small", Version: fmt.Sprint(i), Owner: "ana", Status: status,
					Time: t0.Add(time.Duration(i) * time.Hour)}, meta.ReceivedAt)
			}
		}
		blocks, err := s.Seal(ctx, t0.Add(60*24*time.Hour), nil)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if blocks != 2 {
			t.Errorf("%d blocks sealed, want 2 (small's four deployments)", blocks)
		}
		if got, want := fmt.Sprint(deploymentSteps(t, s, "big")), "[32001 32001]"; got != want {
			t.Errorf("big's deployments' steps %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(deploymentSteps(t, s, "small")), "[2 2 2 2]"; got != want {
			t.Errorf("small's deployments' steps %s, want %s", got, want)
		}
	})
}
