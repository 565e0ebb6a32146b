package client_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// Each deploy, with its steps' durations: a deployment is the steps of one
// component, version and environment, up to a terminal status.
func ExampleClient_Deployments() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	// Two deploys sent at once with the times they happened (an import).
	at := time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)
	var steps []model.StepInput
	for i, v := range []string{"1.2.0", "1.3.0"} {
		start := at.Add(time.Duration(i) * 24 * time.Hour)
		for _, s := range []struct {
			status string
			after  time.Duration
		}{{"build", 0}, {"tests", 3 * time.Minute}, {"rollout", 9 * time.Minute}, {"finished", time.Duration(11+i) * time.Minute}} {
			steps = append(steps, model.StepInput{Component: "api", Version: v, Owner: "ana", Environment: "production", Status: s.status, Time: start.Add(s.after)})
		}
	}
	if _, err := c.RecordBatch(ctx, steps); err != nil {
		log.Fatal(err)
	}

	for d, err := range c.Deployments(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api"}}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(d.Version, " ", d.Outcome, " ", model.HumanDuration(d.DurationSeconds), ":")
		for _, p := range d.Steps {
			if p.DurationSeconds != nil {
				fmt.Print(" ", p.Status, " ", model.HumanDuration(*p.DurationSeconds))
			}
		}
		fmt.Println()
	}
	// Output:
	// 1.2.0 success 11m00s: build 3m00s tests 6m00s rollout 2m00s
	// 1.3.0 success 12m00s: build 3m00s tests 6m00s rollout 3m00s
}

// Export steps for a spreadsheet: the same CSV as the server's export
// (GET /v1/steps?format=csv) and stepsctl list -o csv, built page by page,
// so memory does not grow with the export. Cells a spreadsheet would run
// as a formula are prefixed with a quote.
func ExampleClient_Steps_csv() {
	received := time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)
	serverURL, stop := exampleServerAt(func() time.Time { return received })
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, in := range []model.StepInput{
		{Component: "api", Version: "1.2.0", Owner: "Zoë Øster", Status: "build", Time: at},
		{Component: "api", Version: "1.2.0", Owner: "Zoë Øster", Status: "=cmd()", Time: at.Add(90 * time.Second)},
	} {
		if _, err := c.Record(ctx, in); err != nil {
			log.Fatal(err)
		}
	}

	w := csv.NewWriter(os.Stdout)
	if err := w.Write(model.CSVHeader); err != nil {
		log.Fatal(err)
	}
	for s, err := range c.Steps(ctx, model.Filter{Component: "api"}) {
		if err != nil {
			log.Fatal(err)
		}
		if err := w.Write(model.StepCSVRow(s)); err != nil {
			log.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// component,version,owner,status,ts,environment,id,received_at,revision,committed_at
	// api,1.2.0,Zoë Øster,build,2025-11-20 09:00:00,,1,2025-11-20 10:00:00,,
	// api,1.2.0,Zoë Øster,'=cmd(),2025-11-20 09:01:30,,2,2025-11-20 10:00:00,,
}

// Send a step again after a failure without storing it twice: the same
// idempotency key and input return the step stored the first time.
func ExampleClient_RecordWithKey() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	key := client.NewIdempotencyKey()
	in := model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "rollout",
		Time: time.Date(2025, 11, 20, 9, 9, 0, 0, time.UTC)}
	first, err := c.RecordWithKey(ctx, key, in)
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.RecordWithKey(ctx, key, in) // a retry whose first answer was lost
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.ID, again.ID)

	in.Status = "finished" // the same key for another step is refused
	_, err = c.RecordWithKey(ctx, key, in)
	fmt.Println(model.ErrorCode(err) == model.EUNPROCESSABLE)
	// Output:
	// 1 1
	// true
}

// Tell a failure worth trying again later from a refusal. A step whose
// call ran out of time may or may not be stored: keep it with its key
// (package spool does) and send it again later.
func ExampleIsTemporary() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Nothing listens on port 1: the server is down.
	c, err := client.New("http://127.0.0.1:1", client.WithRetry(client.RetryPolicy{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}
	key := client.NewIdempotencyKey()
	in := model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "build", Time: time.Now()}
	_, err = c.RecordWithKey(ctx, key, in)
	var netErr *client.NetError
	fmt.Println(errors.As(err, &netErr), netErr.Attempts, client.IsTemporary(err))
	// Output:
	// true 2 true
}

// Is deploying getting slower? The trend of deploy time, robust to a few
// junk deploys, with its 95 % interval and the step to blame.
func ExampleClient_Stats() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	// Twelve weekly deploys of api: its build takes 5 s longer each week,
	// its tests 20 s.
	var steps []model.StepInput
	start := time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)
	for week := range 12 {
		at := start.Add(time.Duration(week) * 7 * 24 * time.Hour)
		v := fmt.Sprintf("1.%d.0", week)
		build := time.Duration(120+5*week) * time.Second
		tests := time.Duration(300+20*week) * time.Second
		for _, s := range []struct {
			status string
			after  time.Duration
		}{{"build", 0}, {"tests", build}, {"finished", build + tests}} {
			steps = append(steps, model.StepInput{Component: "api", Version: v, Owner: "ana", Status: s.status, Time: at.Add(s.after)})
		}
	}
	if _, err := c.RecordBatch(ctx, steps); err != nil {
		log.Fatal(err)
	}

	st, err := c.Stats(ctx, model.Filter{Component: "api"}, model.StatsOptions{Bucket: model.BucketMonth})
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range st.Buckets {
		fmt.Println(b.Start.Format("2006-01"), b.Count, model.HumanDuration(*b.P50Seconds))
	}
	fmt.Println(st.Trend.Direction, st.Trend.Blame)
	fmt.Println(st.Summary)
	// Output:
	// 2025-09 5 7m50s
	// 2025-10 4 9m43s
	// 2025-11 3 11m10s
	// growing [tests]
	// Deploy time grows 4.6 % a week (4.0–5.0 %), +9.4 % a sprint of 14 days; mean 9m18s over 12 deployments. `tests` accounts for 80 % of the growth, +5.0 % a week.
}
