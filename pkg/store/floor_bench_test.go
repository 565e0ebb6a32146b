package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkLoneStep is what one step recorded alone (a deploy script's
// step, nothing else writing) costs on MySQL, beside the statements it is
// made of: the ingest baseline's one autocommit INSERT (stepsbench's
// baseline server), the same INSERT in a transaction of its own, with one
// and with two keyed upserts after it (the deployment's row and the
// target's), and the store's CreateStep. It answers how close a step
// numbered in its own transaction can come to the baseline: the
// statements alone set the floor (docs/benchmarks.md). Serial, one
// connection each, on the server STEPS_TEST_MYSQL_DSN names.
func BenchmarkLoneStep(b *testing.B) {
	if os.Getenv(testdb.EnvMySQL) == "" {
		b.Skip("MySQL only: set " + testdb.EnvMySQL)
	}
	ctx := context.Background()
	s := testdb.Open(b, testdb.MySQL(b))
	db := s.DB()
	for _, ddl := range []string{
		`CREATE TABLE floor_deployments (component VARCHAR(200) NOT NULL, attempt INT NOT NULL, steps INT NOT NULL,
  phases TEXT NOT NULL, PRIMARY KEY (component, attempt))`,
		`CREATE TABLE floor_targets (component VARCHAR(200) NOT NULL PRIMARY KEY, attempt INT NOT NULL, writes BIGINT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			b.Fatal(err)
		}
	}
	conn := func(autocommit bool) *sql.Conn {
		c, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if !autocommit {
			if _, err := c.ExecContext(ctx, `SET autocommit = 0`); err != nil {
				b.Fatal(err)
			}
		}
		return c
	}
	prepare := func(c *sql.Conn, query string) *sql.Stmt {
		st, err := c.PrepareContext(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	const insertStep = `INSERT INTO steps (component, version, owner, status, environment, time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	auto, manual := conn(true), conn(false)
	baseline, inTx := prepare(auto, insertStep), prepare(manual, insertStep)
	deployment := prepare(manual, `INSERT INTO floor_deployments (component, attempt, steps, phases) VALUES (?, 1, 1, ?)
ON DUPLICATE KEY UPDATE steps = steps + 1, phases = CONCAT(phases, VALUES(phases))`)
	target := prepare(manual, `INSERT INTO floor_targets (component, attempt, writes) VALUES (?, 1, 1) ON DUPLICATE KEY UPDATE writes = writes + 1`)
	commit := prepare(manual, `COMMIT`)
	step := func(st *sql.Stmt, i int) {
		now := time.Now().UTC().Format("2006-01-02 15:04:05.000000")
		if _, err := st.ExecContext(ctx, fmt.Sprintf("load-%d", i%8), fmt.Sprintf("1.%d.0", i/40), "bench", "build", "production", now, now); err != nil {
			b.Fatal(err)
		}
	}
	exec := func(st *sql.Stmt, args ...any) {
		if _, err := st.ExecContext(ctx, args...); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, f func(i int)) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				f(i)
				i++
			}
		})
	}
	run("baseline=INSERT", func(i int) { step(baseline, i) })
	run("tx=INSERT,COMMIT", func(i int) { step(inTx, i); exec(commit) })
	run("tx=INSERT,deployment,COMMIT", func(i int) {
		step(inTx, i)
		exec(deployment, fmt.Sprintf("load-%d", i%8), "12,1.5,build;")
		exec(commit)
	})
	run("tx=INSERT,deployment,target,COMMIT", func(i int) {
		step(inTx, i)
		exec(deployment, fmt.Sprintf("load-%d", i%8), "12,1.5,build;")
		exec(target, fmt.Sprintf("load-%d", i%8))
		exec(commit)
	})
	statuses := []string{"build", "tests", "migrate", "rollout", "finished"}
	run("store=CreateStep", func(i int) {
		in := model.StepInput{Component: fmt.Sprintf("load-%d", i%8), Version: fmt.Sprintf("1.%d.0", i/40), Owner: "bench",
			Status: statuses[i%len(statuses)], Environment: "production"}
		if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	})
}
