package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestHostileStalledAnalysesPerClient asks, from one client, for forty
// stats answers it never reads. A stats answer is built whole in memory
// and kept until its client reads it, and it is large from little data:
// two deployments of 49 long step names, 993 days apart, make 8 MB over
// daily buckets. Lists were bounded per client, analyses and pages were
// not: 60 such stalled answers held 520 MB of stepsd for the minute before
// writeTimeout, and the rate limit's burst of 1,000 would hold gigabytes.
// They now share the lists' slots (16 by default): past them a client gets
// 429 at once (HTML on the page), and its slots come back when it closes.
func TestHostileStalledAnalysesPerClient(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := testdb.Open(t, fresh(t))
		var ins []model.StepInput
		for d, day := range []time.Time{time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC)} {
			for i := range 49 {
				ins = append(ins, model.StepInput{Component: "big", Version: fmt.Sprint("v", d), Owner: "o",
					Status: fmt.Sprintf("step %02d %s", i, strings.Repeat("x", 50)), Time: day.Add(time.Duration(i) * time.Minute)})
			}
			ins = append(ins, model.StepInput{Component: "big", Version: fmt.Sprint("v", d), Owner: "o", Status: "finished", Time: day.Add(time.Hour)})
		}
		if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		// Four slots, not the default 16: an answer held costs its JSON
		// and as much again or more (more under -race), so 16 of them
		// could not be told from 40 answers' JSON by the heap alone.
		const slots = 4
		ts := httptest.NewUnstartedServer(server.New(server.Config{Store: st, ClientLists: slots}))
		ts.Listener = smallBuffers{ts.Listener}
		ts.Start()
		t.Cleanup(ts.Close) // after stallLists' cleanup closes the stalled connections
		const stats = "/v1/stats?component=big&bucket=day&since=2024-01-01&until=2026-09-26"
		client := &http.Client{Timeout: 15 * time.Second}
		get := func(path string) (int, string) {
			t.Helper()
			res, err := client.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(body)
		}
		status, body := get(stats)
		if status != http.StatusOK || len(body) < 4<<20 {
			t.Fatalf("stats = %d, %d bytes; want 200 with an answer of megabytes", status, len(body))
		}
		answerMiB := float64(len(body)) / (1 << 20)
		mem0 := measureMem(t)

		const attempts = 40
		conns := stallLists(t, ts.Listener.Addr().String(), attempts, stats)
		mem1 := measureMem(t)
		t.Logf("%d stalled stats answers from one client: %s before, %s during", attempts, mem0, mem1)
		// Forty held answers are at least forty times the JSON; the
		// client's four slots, about four times it and its copies.
		if grew := mem1.heapMiB - mem0.heapMiB; grew > attempts/2*answerMiB {
			t.Errorf("heap grew by %.0f MiB, %.1f answers' JSON, with %d stalled stats answers from one client; want about %d answers' worth",
				grew, grew/answerMiB, attempts, slots)
		}
		for _, path := range []string{stats, "/v1/dora", "/v1/changes", "/v1/steps?limit=1"} {
			if status, body := get(path); status != http.StatusTooManyRequests || !strings.Contains(body, "lists in progress") {
				t.Errorf("%s past the client's stalled answers = %d %.200s; want 429", path, status, body)
			}
		}
		if status, body := get("/"); status != http.StatusTooManyRequests || !strings.Contains(body, "<html") {
			t.Errorf("the page past the client's stalled answers = %d %.200s; want 429 as HTML", status, body)
		}
		// Writes and probes are not answers held for reading.
		if res, err := client.Post(ts.URL+"/v1/steps?component=api&version=2.0&owner=ana&status=build", "", nil); err != nil || res.StatusCode != http.StatusCreated {
			t.Errorf("a write during the stall: %v %v, want 201", res, err)
		} else {
			res.Body.Close()
		}

		for _, c := range conns {
			c.Close()
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			status, _ := get("/v1/dora")
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/v1/dora after the stalled answers were closed: %d, want 200", status)
			}
		}
	})
}
