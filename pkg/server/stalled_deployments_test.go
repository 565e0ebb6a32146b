package server_test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestStalledDeploymentExportsHoldAChunkOfSteps: a streamed list of
// deployments read 1,000 deployments a query, whatever their steps, and
// held them while its client read: 128 stalled exports of deployments of
// 50 steps took stepsd from 86 MB to 648 MB. A chunk now ends once it
// holds 8,000 steps, and the export still lists every deployment once, in
// order.
func TestStalledDeploymentExportsHoldAChunkOfSteps(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	const deployments, steps = 1000, 50
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for b := range deployments / 100 {
		var ins []model.StepInput
		for d := b * 100; d < (b+1)*100; d++ {
			for k := range steps {
				status := fmt.Sprintf("step %02d %s", k, strings.Repeat("z", 40))
				if k == steps-1 {
					status = "finished"
				}
				ins = append(ins, model.StepInput{Component: "wide", Version: fmt.Sprintf("v%04d-%s", d, strings.Repeat("q", 60)), Owner: "o",
					Status: status, Time: start.Add(time.Duration(d)*time.Hour + time.Duration(k)*time.Second)})
			}
		}
		if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	ts := stallableServer(t, server.Config{Store: st, ClientLists: 64})
	const export = "/v1/deployments?format=ndjson&component=wide"

	res, err := http.Get(ts.URL + export)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		_, rest, _ := strings.Cut(sc.Text(), `"version":"`)
		v, _, _ := strings.Cut(rest, `"`)
		versions = append(versions, v)
	}
	res.Body.Close()
	if len(versions) != deployments {
		t.Fatalf("the export listed %d deployments, want %d", len(versions), deployments)
	}
	for i, v := range versions {
		if want := fmt.Sprintf("v%04d-", i); !strings.HasPrefix(v, want) {
			t.Fatalf("deployment %d of the export is %.10s, want %s…: each once, in order", i, v, want)
		}
	}

	mem0 := measureMem(t)
	const stalled = 16
	stallLists(t, ts.Listener.Addr().String(), stalled, export)
	mem1 := measureMem(t)
	perList := (mem1.heapMiB - mem0.heapMiB) / stalled
	t.Logf("%d stalled exports of deployments of %d steps: %s before, %s during (%.1f MiB each)", stalled, steps, mem0, mem1, perList)
	// A chunk of 8,000 steps of these is about 1.5 MiB; 1,000 deployments
	// (50,000 steps) were over 6 times that.
	if perList > 4 {
		t.Errorf("each stalled export holds %.1f MiB, want a chunk of 8,000 steps (about 1.5 MiB)", perList)
	}
}

// TestStalledStepExportsHoldAChunkOfBytes: a streamed list of steps read
// 8,000 steps a query and held them while its client read: 8,000 steps of
// values of 128 characters not yet sealed are 7 MB, so 128 stalled
// exports held a gigabyte. A chunk now ends at about 2 MiB of steps, and
// the export still lists every step once, in order.
func TestStalledStepExportsHoldAChunkOfBytes(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	long := func(p string, n int) string { return (p + strings.Repeat("x", n))[:n] }
	const rows = 10000
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for b := range rows / 5000 {
		var ins []model.StepInput
		for i := b * 5000; i < (b+1)*5000; i++ {
			ins = append(ins, model.StepInput{Component: long(fmt.Sprint("c", i%7, "-"), 128), Version: long(fmt.Sprint("v", i/6, "-"), 128),
				Owner: long(fmt.Sprint("o", i, "-"), 128), Status: long(fmt.Sprint("s", i%6, "-"), 64), Environment: long("e-", 64),
				Time: start.Add(time.Duration(i) * time.Minute)})
		}
		if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	ts := stallableServer(t, server.Config{Store: st, ClientLists: 64})
	const export = "/v1/steps?format=csv"

	res, err := http.Get(ts.URL + export)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	owner := slices.Index(records[0], "owner")
	n := 0
	for _, rec := range records[1:] {
		if want := fmt.Sprint("o", n, "-"); !strings.HasPrefix(rec[owner], want) {
			t.Fatalf("row %d of the export is owned by %.20s, want %s…: each once, in order", n, rec[owner], want)
		}
		n++
	}
	if n != rows {
		t.Fatalf("the export listed %d steps, want %d", n, rows)
	}

	mem0 := measureMem(t)
	const stalled = 16
	stallLists(t, ts.Listener.Addr().String(), stalled, export)
	mem1 := measureMem(t)
	perList := (mem1.heapMiB - mem0.heapMiB) / stalled
	t.Logf("%d stalled exports of long steps: %s before, %s during (%.1f MiB each)", stalled, mem0, mem1, perList)
	if perList > 3.5 {
		t.Errorf("each stalled export holds %.1f MiB, want a chunk of about 2 MiB (8,000 of these steps were 4.4)", perList)
	}
}
