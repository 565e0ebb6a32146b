package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// TestSealedBlocksAnswerByteForByte: over a seeded history (several
// series, failures, redeploys, late steps, deployments left unended), the
// stats, changes, DORA and the page answer byte for byte the same from
// sealed blocks as row by row, before and after a late step unseals
// blocks.
func TestSealedBlocksAnswerByteForByte(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		rows, blocks := testdb.Open(t, dsn), testdb.Open(t, dsn)
		rows.TuneSealing(0, 0, true)
		blocks.TuneSealing(3, 0, false)
		rules := model.DefaultDeploymentRules()
		for _, s := range []*store.Store{rows, blocks} {
			if err := s.UseRules(ctx, rules, slog.Default()); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(40 * 24 * time.Hour)
		serve := func(s *store.Store) string {
			srv := httptest.NewServer(server.New(server.Config{Store: s, Now: func() time.Time { return now }}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
		rowsURL, blocksURL := serve(rows), serve(blocks)

		rng := rand.New(rand.NewPCG(5, 8))
		var batch []model.StepInput
		at := t0
		for i := range 900 {
			at = at.Add(time.Duration(10+rng.IntN(3600)) * time.Second)
			in := model.StepInput{
				Component:   []string{"api", "web", "db"}[rng.IntN(3)],
				Version:     fmt.Sprintf("1.%d", i/40),
				Environment: []string{"prod", "staging"}[rng.IntN(2)],
				Owner:       []string{"ana", "bob"}[rng.IntN(2)],
				Status:      []string{"build", "rollout", "finished", "failed", "finished", "rolled-back"}[rng.IntN(6)],
				Time:        at,
			}
			if rng.IntN(5) == 0 {
				in.Revision = fmt.Sprintf("r%d", i)
				in.CommittedAt = at.Add(-time.Duration(rng.IntN(100000)) * time.Second)
			}
			batch = append(batch, in)
		}
		if _, _, err := blocks.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		paths := []string{
			"/v1/stats", "/v1/stats?bucket=week", "/v1/stats?component=api", "/v1/stats?environment=prod&bucket=day",
			fmt.Sprintf("/v1/stats?since=%s&until=%s", t0.Add(5*24*time.Hour).Format(time.RFC3339), t0.Add(9*24*time.Hour).Format(time.RFC3339)),
			fmt.Sprintf("/v1/stats?since=%s&until=%s", t0.Add(2*24*time.Hour).Format(time.RFC3339), t0.Add(15*24*time.Hour).Format(time.RFC3339)),
			fmt.Sprintf("/v1/dora?since=%s", t0.Add(4*24*time.Hour).Format(time.RFC3339)),
			"/v1/changes", "/v1/changes?component=web", "/v1/dora", "/v1/dora?environment=staging",
			"/", "/?component=db", "/?since=" + t0.Add(3*24*time.Hour).Format("2006-01-02"),
		}
		compare := func(stage string) {
			t.Helper()
			for _, p := range paths {
				want, got := get(t, rowsURL+p), get(t, blocksURL+p)
				if !bytes.Equal(got, want) {
					i := 0
					for i < min(len(got), len(want)) && got[i] == want[i] {
						i++
					}
					from := max(0, i-200)
					t.Errorf("%s: %s differs over blocks from byte %d:\n got …%.400s\nwant …%.400s", stage, p, i, got[from:], want[from:])
				}
			}
		}
		sealed, err := blocks.Seal(ctx, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sealed < 20 {
			t.Fatalf("%d blocks sealed: the test proves little", sealed)
		}
		compare("sealed")
		// Late steps land inside sealed deployments: their blocks go.
		for i := range 5 {
			in := batch[100+150*i]
			in.Status = "failed"
			in.Time = in.Time.Add(time.Second)
			if _, _, err := blocks.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		compare("after late steps")
		// The blocks the late steps unsealed lie between blocks: sealed
		// again there.
		if n, err := blocks.Seal(ctx, now, nil); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			t.Error("the deployments late steps unsealed were not sealed again")
		}
		compare("sealed again")
	})
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := send(t, req)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.status, r.body)
	}
	return r.body
}
