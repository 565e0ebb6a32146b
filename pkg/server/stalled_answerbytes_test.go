package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestHostileStalledAnswersBoundedInBytes asks for sixteen stats answers
// of 8 MB that it never reads. The lists' slots bound how many answers are
// held, not their size: 128 of them, from eight addresses each within its
// 16, took stepsd from 160 MB to 1.07 GB. The bytes held are bounded too
// (MaxAnswerBytes, 64 MiB by default): past them an answer gets 503 with
// Retry-After, and the room comes back when the stalled clients go.
func TestHostileStalledAnswersBoundedInBytes(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	ins := bigDeployments(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC))
	if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// Slots enough for every stalled answer, and time enough for each to
	// be built however slow the host (one analysis at a time on two cores
	// under -race let most time out waiting their turn, so that too few
	// were held to reach the bound): the bound in bytes, not the one in
	// slots or turns, must refuse them.
	ts := stallableServer(t, server.Config{Store: st, ClientLists: 64, AnswerWait: time.Second,
		MaxAnalyses: 32, AnalysisWait: 2 * time.Minute})
	const stats = "/v1/stats?component=big&bucket=day&since=2024-01-01&until=2026-09-26"
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		return getWhole(t, client, ts.URL+path)
	}
	res, body := get(stats)
	if res.StatusCode != http.StatusOK || len(body) < 4<<20 {
		t.Fatalf("stats = %d, %d bytes; want 200 with an answer of megabytes", res.StatusCode, len(body))
	}
	answerMiB := float64(len(body)) / (1 << 20)
	mem0 := measureMem(t)
	const stalled = 16 // 128 MiB of answers, twice the bound
	conns := stallLists(t, ts.Listener.Addr().String(), stalled, stats)
	mem1 := measureMem(t)
	t.Logf("%d stalled stats answers of %.1f MiB: %s before, %s during", stalled, answerMiB, mem0, mem1)

	res, body = get(stats)
	var e struct{ Code string }
	json.Unmarshal([]byte(body), &e) //nolint:errcheck // checked through e.Code
	if res.StatusCode != http.StatusServiceUnavailable || e.Code != model.EUNAVAILABLE || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "answers") {
		t.Errorf("stats past %.0f MiB of stalled answers = %d %q (Retry-After %q); want 503 naming the bound on answers held",
			stalled*answerMiB, res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	// Small answers are not held up by large ones.
	if res, body := get("/v1/dora"); res.StatusCode != http.StatusOK {
		t.Errorf("/v1/dora during the stall = %d %.200s, want 200", res.StatusCode, body)
	}

	for _, c := range conns {
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, _ := get(stats); res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stats after the stalled answers were closed: still refused, want 200")
		}
	}
}

// TestHostileStalledPagesBoundedInBytes: a page of a list (limit=) is
// gathered whole before it is sent, and a client that stops reading held
// it until writeTimeout: 128 stalled pages of 10,000 long steps, each
// client within its lists, held about 1.3 GB. A page is now held under
// MaxAnswerBytes as an analysis is: past it, 503 with Retry-After.
func TestHostileStalledPagesBoundedInBytes(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	long := func(p string, n int) string { return (p + strings.Repeat("x", n))[:n] }
	var ins []model.StepInput
	for i := range 3000 {
		ins = append(ins, model.StepInput{Component: long(fmt.Sprint("c", i%7, "-"), 128), Version: long(fmt.Sprint("v", i/6, "-"), 128),
			Owner: long("o-", 128), Status: long(fmt.Sprint("s", i%6, "-"), 64), Environment: long("e-", 64),
			Time: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)})
	}
	if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	const budget = 3 << 20
	ts := stallableServer(t, server.Config{Store: st, ClientLists: 64, MaxAnswerBytes: budget, AnswerWait: time.Second})
	const page = "/v1/steps?format=json&limit=3000"
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		return getWhole(t, client, ts.URL+path)
	}
	res, body := get(page)
	if res.StatusCode != http.StatusOK || len(body) < budget/2 {
		t.Fatalf("page = %d, %d bytes; want 200 with over half of %d bytes", res.StatusCode, len(body), budget)
	}
	const stalled = 6 // three times the bound
	conns := stallLists(t, ts.Listener.Addr().String(), stalled, page)

	res, body = get(page)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || res.Header.Get("X-Next-Cursor") != "" || !strings.Contains(body, "answers") {
		t.Errorf("a page past %d stalled pages of %d bytes = %d %.300q (Retry-After %q, X-Next-Cursor %q); want 503 naming the bound on answers held",
			stalled, len(body), res.StatusCode, body, res.Header.Get("Retry-After"), res.Header.Get("X-Next-Cursor"))
	}
	if res, body := get("/v1/steps?format=json&limit=10"); res.StatusCode != http.StatusOK || res.Header.Get("X-Next-Cursor") == "" {
		t.Errorf("a small page during the stall = %d %.200s, want 200 with its cursor", res.StatusCode, body)
	}
	for _, c := range conns {
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, _ := get(page); res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page after the stalled ones were closed: still refused, want 200")
		}
	}
}

// TestHostileStalledCSVAnswersBoundedInBytes: the CSV of an analysis was
// written to the connection in pieces of 4 KiB, each below the size from
// which an answer is held under MaxAnswerBytes, so a client that stopped
// reading held the analysis outside the bound: 128 stalled stats CSVs
// from 8 addresses took stepsd to 743 MB, where their JSON was held to 8
// answers and 272 MB. The CSV is now held as the JSON is: past the bound,
// 503 with Retry-After.
func TestHostileStalledCSVAnswersBoundedInBytes(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	ins := bigDeployments(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2024, 4, 10, 0, 0, 0, 0, time.UTC))
	// A deployment a day for DORA's buckets, which leave out runs of
	// empty days.
	for d := range 1000 {
		day := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		ins = append(ins, model.StepInput{Component: "daily", Version: fmt.Sprint("v", d), Owner: "o", Status: "build", Time: day},
			model.StepInput{Component: "daily", Version: fmt.Sprint("v", d), Owner: "o", Status: "finished", Time: day.Add(time.Minute)})
	}
	if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	const budget = 1 << 20
	ts := stallableServer(t, server.Config{Store: st, ClientLists: 64, MaxAnswerBytes: budget, AnswerWait: time.Second,
		MaxAnalyses: 8, AnalysisWait: 2 * time.Minute})
	client := &http.Client{Timeout: 15 * time.Second}
	for _, path := range []string{
		"/v1/stats?component=big&bucket=day&since=2024-01-01&until=2024-04-11&format=csv",
		"/v1/dora?component=daily&bucket=day&since=2021-01-01&until=2023-06-01&format=csv",
	} {
		t.Run(path[:strings.Index(path, "?")], func(t *testing.T) {
			res, body := getWhole(t, client, ts.URL+path)
			if res.StatusCode != http.StatusOK || len(body) < 64<<10 {
				t.Fatalf("%s = %d, %d bytes; want 200 with over 64 KiB, the size from which answers are held", path, res.StatusCode, len(body))
			}
			stalled := budget/len(body) + 2
			conns := stallLists(t, ts.Listener.Addr().String(), stalled, path)
			res, body = getWhole(t, client, ts.URL+path)
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "answers") {
				t.Errorf("%s past %d stalled answers = %d %.300q (Retry-After %q); want 503 naming the bound on answers held",
					path, stalled, res.StatusCode, body, res.Header.Get("Retry-After"))
			}
			for _, c := range conns {
				c.Close()
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if res, _ := getWhole(t, client, ts.URL+path); res.StatusCode == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s after the stalled answers were closed: still refused, want 200", path)
				}
			}
		})
	}
}

// bigDeployments is a deployment of component "big" on each day, of 49
// steps with long names and a finish: each step name is a row of every
// stats bucket, which makes the answers large.
func bigDeployments(days ...time.Time) []model.StepInput {
	var ins []model.StepInput
	for d, day := range days {
		for i := range 49 {
			ins = append(ins, model.StepInput{Component: "big", Version: fmt.Sprint("v", d), Owner: "o",
				Status: fmt.Sprintf("step %02d %s", i, strings.Repeat("x", 50)), Time: day.Add(time.Duration(i) * time.Minute)})
		}
		ins = append(ins, model.StepInput{Component: "big", Version: fmt.Sprint("v", d), Owner: "o", Status: "finished", Time: day.Add(time.Hour)})
	}
	return ins
}
