package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// pipeRows returns n stored deployment rows of one series, a minute
// apart, each of three phases; row damaged (if in range) has phases that
// cannot be read.
func pipeRows(n, damaged int) [][]byte {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	rows := make([][]byte, n)
	for i := range rows {
		var phases []byte
		for k, status := range []string{"build", "rollout", "finished"} {
			phases = rowtext.AppendPhase(phases, int64(3*i+k+1), time.Duration(k*(i%7+1))*time.Second, status)
		}
		if i == damaged {
			phases = []byte("damaged")
		}
		rows[i] = fmt.Appendf(nil, "api\x1f1.%d\x1fprod\x1f1\x1fbob\x1f%s\x1f%s\x1f\x1f", i, rowtext.FormatTime(start.Add(time.Duration(i)*time.Minute)), phases)
	}
	return rows
}

// pipeDeployments passes every deployment in row order, and on a row that
// cannot be built, those before it and then its error, whichever stage
// builds (the reading goroutine when the caller's falls behind, the
// caller's when the reading does), with and without reuse.
func TestPipeDeploymentsInOrderWhoeverBuilds(t *testing.T) {
	const n = 12 * handoverRows
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, slow := range []string{"fn", "read"} {
		for _, reuse := range []bool{false, true} {
			for _, damaged := range []int{-1, 8*handoverRows + 60} {
				t.Run(fmt.Sprintf("slow %s, reuse %v, damaged %d", slow, reuse, damaged), func(t *testing.T) {
					rows := pipeRows(n, damaged)
					var seen []string
					var kept []*model.Deployment
					err := pipeDeployments(context.Background(), model.DeploymentFilter{}, model.DefaultDeploymentRules(), now, reuse,
						func(d *model.Deployment) error {
							if slow == "fn" && len(seen)%50 == 0 {
								time.Sleep(time.Millisecond)
							}
							seen = append(seen, fmt.Sprintf("%s %s %d %.0f", d.Version, d.StartedAt.Format(time.TimeOnly), len(d.Steps), d.DurationSeconds))
							if !reuse {
								kept = append(kept, d)
							}
							return nil
						},
						func(ctx context.Context, emit func([]byte) error) error {
							for i, row := range rows {
								if slow == "read" && i%50 == 0 {
									time.Sleep(time.Millisecond)
								}
								// The driver reuses its bytes: so does this.
								buf := append([]byte(nil), row...)
								if err := emit(buf); err != nil {
									return err
								}
								clear(buf)
							}
							return nil
						})
					want := n
					if damaged >= 0 {
						want = damaged
						if err == nil || !strings.Contains(err.Error(), `stored phases "damaged"`) {
							t.Errorf("err = %v, want the damaged row's", err)
						}
					} else if err != nil {
						t.Fatal(err)
					}
					if len(seen) != want {
						t.Fatalf("%d deployments passed, want %d", len(seen), want)
					}
					for i, got := range seen {
						wantRow := fmt.Sprintf("1.%d %s 3 %d", i, time.Date(2026, 1, 5, 9, i, 0, 0, time.UTC).Format(time.TimeOnly), 2*(i%7+1))
						if got != wantRow {
							t.Fatalf("deployment %d passed as %q, want %q", i, got, wantRow)
						}
					}
					// Deployments kept by a caller that may keep them are
					// not built over by later rows.
					for i, d := range kept {
						if d.Version != fmt.Sprintf("1.%d", i) || len(d.Steps) != 3 {
							t.Fatalf("kept deployment %d became %s with %d steps", i, d.Version, len(d.Steps))
						}
					}
				})
			}
		}
	}
}

// readRows builds a block's deployments itself when buildAhead blocks or
// more wait for the caller's goroutine, and copies the rows otherwise.
func TestReadRowsBuildsWhenTheCallerFallsBehind(t *testing.T) {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	newReader := func() *rowtext.DeploymentReader {
		return rowtext.NewDeploymentReader(model.DeploymentFilter{}, model.DeploymentRules{}, now)
	}
	rows := pipeRows(handoverRows, -1)
	read := func(ctx context.Context, emit func([]byte) error) error {
		for _, row := range rows {
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	}
	for waiting := range buildAhead + 1 {
		full := make(chan *deploymentBlock, handoverDepth)
		for range waiting {
			full <- &deploymentBlock{}
		}
		if err := readRows(context.Background(), read, newReader, full, make(chan *deploymentBlock)); err != nil {
			t.Fatal(err)
		}
		for range waiting {
			<-full
		}
		b := <-full
		if want := waiting >= buildAhead; b.built != want || want && len(b.deps) != handoverRows || !want && len(b.ends) != handoverRows {
			t.Errorf("%d blocks waiting: built %v with %d deployments and %d rows; want built %v", waiting, b.built, len(b.deps), len(b.ends), want)
		}
	}
}

// A panic in the reading goroutine (the driver, or building a row there)
// fails the read with an error, after the deployments read before it,
// instead of ending the process.
func TestPipeDeploymentsPanicInTheReadIsAnError(t *testing.T) {
	rows := pipeRows(3*handoverRows, -1)
	seen := 0
	err := pipeDeployments(context.Background(), model.DeploymentFilter{}, model.DefaultDeploymentRules(), time.Now(), true,
		func(*model.Deployment) error {
			seen++
			return nil
		},
		func(ctx context.Context, emit func([]byte) error) error {
			for i, row := range rows {
				if i == 2*handoverRows+5 {
					panic("the driver broke")
				}
				if err := emit(row); err != nil {
					return err
				}
			}
			return nil
		})
	if err == nil || !strings.Contains(err.Error(), "panic: the driver broke") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
	if seen > 2*handoverRows+5 {
		t.Errorf("%d deployments passed, at most %d were read", seen, 2*handoverRows+5)
	}
}
