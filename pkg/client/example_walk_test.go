package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// Options chosen at run time: New skips an Option left nil, so a token
// that is not configured needs no second call.
func ExampleNew() {
	serverURL, stop := exampleServer()
	defer stop()

	var auth client.Option
	if tok := os.Getenv("STEPS_TOKEN"); tok != "" {
		auth = client.WithToken(tok)
	}
	c, err := client.New(serverURL, auth,
		client.WithUserAgent("deploybot/1.4"),
		client.WithTimeout(10*time.Second),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 8, MaxElapsed: time.Minute}), // zero fields: DefaultRetryPolicy's
	)
	if err != nil {
		log.Fatal(err)
	}
	step, err := c.Record(context.Background(), model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "build"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(step.ID, step.Status)
	// Output:
	// 1 build
}

// A dashboard that shows one page at a time: each page carries the cursor
// of the next, nil on the last page.
func ExampleClient_ListPage() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		if _, err := c.Record(ctx, model.StepInput{Component: "web", Version: v, Owner: "bo", Status: "finished", Environment: "production"}); err != nil {
			log.Fatal(err)
		}
	}

	f := model.Filter{Component: "web", Environment: "production", Order: model.OrderDesc, Limit: 2}
	for n := 1; ; n++ {
		page, err := c.ListPage(ctx, f)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print("page ", n, ":")
		for _, s := range page.Steps {
			fmt.Print(" ", s.Version)
		}
		fmt.Println()
		if page.Next == nil {
			break
		}
		f.After = page.Next // the same filter, from where this page ended
	}
	// Output:
	// page 1: 1.4.0 1.3.0
	// page 2: 1.2.0 1.1.0
	// page 3: 1.0.0
}

// Deployments one page at a time, newest first, as a dashboard polls them:
// the page's Next goes in DeploymentFilter.After (not Filter.After, which
// continues a list of steps).
func ExampleClient_DeploymentsPage() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)
	var steps []model.StepInput
	for i, v := range []string{"2.0.0", "2.1.0", "2.2.0"} {
		start := at.Add(time.Duration(i) * 24 * time.Hour)
		steps = append(steps,
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "build", Environment: "production", Time: start},
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "finished", Environment: "production", Time: start.Add(time.Duration(4+i) * time.Minute)},
		)
	}
	if _, err := c.RecordBatch(ctx, steps); err != nil {
		log.Fatal(err)
	}

	f := model.DeploymentFilter{Filter: model.Filter{Component: "api", Order: model.OrderDesc, Limit: 2}}
	for {
		page, err := c.DeploymentsPage(ctx, f)
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range page.Deployments {
			fmt.Println(d.Version, d.StartedAt.Format(time.DateOnly), d.Outcome, model.HumanDuration(d.DurationSeconds))
		}
		if page.Next == nil {
			break
		}
		f.After = page.Next
	}
	// Output:
	// 2.2.0 2025-11-05 success 6m00s
	// 2.1.0 2025-11-04 success 5m00s
	// 2.0.0 2025-11-03 success 4m00s
}

// Import a batch under a key of your own: run again (a retried import
// job), it stores nothing and says it was already stored.
func ExampleClient_SendBatch() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC)
	rows := []model.StepInput{
		{Component: "api", Version: "0.9.0", Owner: "ana", Status: "build", Time: at},
		{Component: "api", Version: "0.9.0", Owner: "ana", Status: "finished", Time: at.Add(3 * time.Minute)},
	}
	const key = "import-2025-10-01-part-1" // derived from the file and its part, not random
	for range 2 {
		res, err := c.SendBatch(ctx, key, rows)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(res.Steps), "steps, replayed:", res.Replayed)
	}
	all, err := c.List(ctx, model.Filter{Component: "api"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(all), "steps stored")
	// Output:
	// 2 steps, replayed: false
	// 2 steps, replayed: true
	// 2 steps stored
}

// When did deploy time shift, by how much, and which step moved?
func ExampleClient_Changes() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	// Twenty daily deploys of api: tests took 5 minutes, then 8 from the
	// eleventh on.
	start := time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)
	var steps []model.StepInput
	for day := range 20 {
		at := start.Add(time.Duration(day) * 24 * time.Hour)
		v := fmt.Sprintf("3.%d.0", day)
		build := time.Duration(120+day%3) * time.Second
		tests := time.Duration(300+day%4) * time.Second
		if day >= 10 {
			tests += 3 * time.Minute
		}
		steps = append(steps,
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "build", Environment: "production", Time: at},
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "tests", Environment: "production", Time: at.Add(build)},
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "finished", Environment: "production", Time: at.Add(build + tests)},
		)
	}
	if _, err := c.RecordBatch(ctx, steps); err != nil {
		log.Fatal(err)
	}

	cs, err := c.Changes(ctx, model.Filter{Component: "api"}, model.ChangesOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, ch := range cs.Changes {
		fmt.Printf("%s from %s: %s -> %s (%+.0f %%)\n", ch.Time.Format(time.DateOnly), ch.Version,
			model.HumanDuration(ch.BeforeP50Seconds), model.HumanDuration(ch.AfterP50Seconds), ch.ChangePercent)
		fmt.Println("moved most:", ch.Steps[0].Status)
	}
	// Output:
	// 2025-09-11 from 3.10.0: 7m02s -> 10m03s (+43 %)
	// moved most: tests
}

// Tell "the server is down" from a refusal, and how many attempts were
// made before giving up.
func ExampleNetError() {
	// An address where nothing listens: a stepsd that is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()

	c, err := client.New(down, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Record(context.Background(), model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "build"})
	var netErr *client.NetError
	if errors.As(err, &netErr) {
		fmt.Println("no answer after", netErr.Attempts, "attempts; temporary:", client.IsTemporary(err))
	}
	// Output:
	// no answer after 3 attempts; temporary: true
}

// Complete a component name as a user types it, and ask the server which
// statuses end a deployment there.
func ExampleClient_Values() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	for _, comp := range []string{"api", "api-gateway", "web"} {
		if _, err := c.Record(ctx, model.StepInput{Component: comp, Version: "1", Owner: "ana", Status: "build"}); err != nil {
			log.Fatal(err)
		}
	}
	names, err := c.Values(ctx, "component", "ap", 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)

	rules, err := c.Rules(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rules.Outcome("deployed"), rules.Outcome("rolled-back"), rules.Outcome("tests"))
	// Output:
	// [api api-gateway]
	// success failure in_progress
}

// Following new steps (see "Following new steps" in the package's
// documentation): each poll asks again for the last minute, so a step
// stored late with an earlier time is found, and the ids seen keep it
// from being handled twice; ids older than the overlap are forgotten, as
// no later poll lists them again.
func ExampleClient_Steps_follow() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	const overlap = time.Minute
	newest := time.Now().Add(-time.Hour)
	seen := map[int64]time.Time{}
	poll := func() {
		for step, err := range c.Steps(ctx, model.Filter{Since: newest.Add(-overlap)}) {
			if err != nil {
				log.Fatal(err)
			}
			if _, ok := seen[step.ID]; ok {
				continue
			}
			seen[step.ID] = step.Time
			if step.Time.After(newest) {
				newest = step.Time
			}
			fmt.Println("new:", step.Version, step.Status)
		}
		for id, at := range seen {
			if at.Before(newest.Add(-overlap)) {
				delete(seen, id)
			}
		}
	}
	record := func(version, status string, at time.Time) {
		if _, err := c.Record(ctx, model.StepInput{Component: "api", Version: version, Owner: "ana", Status: status, Time: at}); err != nil {
			log.Fatal(err)
		}
	}
	now := time.Now()
	record("1.0", "build", now.Add(-50*time.Minute))
	record("1.1", "build", now.Add(-2*time.Second))
	poll()
	// Delivered late from a spool: its time is before the newest seen.
	record("1.0", "finished", now.Add(-20*time.Second))
	poll()
	fmt.Println("remembered:", len(seen))
	// Output:
	// new: 1.0 build
	// new: 1.1 build
	// new: 1.0 finished
	// remembered: 2
}
