package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// Record the steps of a deploy, then list them back.
func Example() {
	serverURL, stop := exampleServer() // a stepsd, e.g. "http://localhost:8080"
	defer stop()
	ctx := context.Background()

	c, err := client.New(serverURL, client.WithToken(os.Getenv("STEPS_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	for _, status := range []string{"build", "tests", "rollout", "finished"} {
		step, err := c.Record(ctx, model.StepInput{
			Component:   "api",
			Version:     "1.2.0",
			Owner:       "ana",
			Status:      status,
			Environment: "production",
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("recorded step", step.ID, step.Status)
	}

	steps, err := c.List(ctx, model.Filter{Component: "api", Since: time.Now().Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range steps {
		fmt.Println(s.ID, s.Component, s.Version, s.Environment, s.Status)
	}
	// Output:
	// recorded step 1 build
	// recorded step 2 tests
	// recorded step 3 rollout
	// recorded step 4 finished
	// 1 api 1.2.0 production build
	// 2 api 1.2.0 production tests
	// 3 api 1.2.0 production rollout
	// 4 api 1.2.0 production finished
}

// Range over every matching step without holding them all: pages are
// fetched as the loop goes on.
func ExampleClient_Steps() {
	serverURL, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.New(serverURL, client.WithPageSize(2))
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		if _, err := c.Record(ctx, model.StepInput{Component: "web", Version: v, Owner: "bo", Status: "finished"}); err != nil {
			log.Fatal(err)
		}
	}

	for step, err := range c.Steps(ctx, model.Filter{Component: "web", Order: model.OrderDesc}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(step.Version, step.Status)
	}
	// Output:
	// 1.2.0 finished
	// 1.1.0 finished
	// 1.0.0 finished
}

// Tell the server's refusals from failures to reach it.
func ExampleAPIError() {
	serverURL, stop := exampleServer()
	defer stop()
	c, err := client.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Record(context.Background(), model.StepInput{Component: "api", Version: "1.2.0", Status: "build"})
	var apiErr *client.APIError
	var netErr *client.NetError
	switch {
	case errors.As(err, &apiErr):
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Field)
	case errors.As(err, &netErr):
		fmt.Println("server down; try again later with the same idempotency key")
	}
	// Output:
	// 400 invalid owner
}

// exampleServer starts a stepsd in-process over a temporary SQLite
// database and returns its URL and a function that stops it.
func exampleServer() (url string, stop func()) {
	return exampleServerAt(nil)
}

// exampleServerAt is exampleServer with the server's clock (nil: the real
// one), so that receipt times in an example's output stay the same.
func exampleServerAt(now func() time.Time) (url string, stop func()) {
	dir, err := os.MkdirTemp("", "steps-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "steps.db"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: now}))
	return srv.URL, func() {
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	}
}
