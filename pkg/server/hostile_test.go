package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// The hostile-clients group: what a careless or hostile client can make
// the server grow or hold, each attack through a real server, each bound
// asserted with a generous margin and its figures logged (go test -v -run
// TestHostile ./pkg/server).

// memFigures is the process's memory at one moment: the Go heap in use
// after a collection and the resident set.
type memFigures struct {
	heapMiB, rssMiB float64
}

func measureMem(t *testing.T) memFigures {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{heapMiB: float64(ms.HeapInuse) / (1 << 20), rssMiB: rssMiB(t)}
}

// rssMiB reads VmRSS from /proc/self/status (0 where there is none).
func rssMiB(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func (m memFigures) String() string {
	return fmt.Sprintf("heap in use %.1f MiB, RSS %.1f MiB", m.heapMiB, m.rssMiB)
}

// TestHostileMethods sends thousands of made-up HTTP methods, unauthenticated,
// from one client: the metrics must not grow a series for each.
func TestHostileMethods(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st,
		Tokens: []server.Token{{Scope: server.ScopeWrite, Secret: "write-secret"}}}))
	defer srv.Close()
	n := 5000
	if testing.Short() {
		n = 1000
	}
	send := func(method, path string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck // only the count matters
		res.Body.Close()
	}
	send("GET", "/v1/steps")
	before := metricsBody(t, srv.URL)
	mem0 := measureMem(t)
	for i := range n {
		send(fmt.Sprintf("X%07d", i), []string{"/v1/steps", "/v1/steps/1", "/nowhere/" + strconv.Itoa(i)}[i%3])
	}
	after := metricsBody(t, srv.URL)
	mem1 := measureMem(t)
	t.Logf("%d unique methods: /metrics %d bytes before, %d after; %s before, %s after", n, len(before), len(after), mem0, mem1)
	if len(after) > len(before)+64<<10 {
		t.Errorf("/metrics grew from %d to %d bytes with %d made-up methods", len(before), len(after), n)
	}
	if strings.Contains(after, "X0000001") {
		t.Errorf("a made-up method is a metric label")
	}
	if !strings.Contains(after, `method="other"`) {
		t.Errorf(`made-up methods are not counted under method="other"`)
	}
	if grew := mem1.heapMiB - mem0.heapMiB; grew > 32 {
		t.Errorf("heap grew by %.1f MiB", grew)
	}
}

func metricsBody(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postedBatch is a hostile batch's answer and what it cost.
type postedBatch struct {
	status  int
	answer  []byte
	took    time.Duration
	mem0    memFigures // before it was sent, after a GC
	peakMiB float64    // the live heap's peak while it was answered
}

// postBatch sends body to srv's batch endpoint and samples the live heap
// while it is answered.
func postBatch(t *testing.T, srv *httptest.Server, ctype string, body []byte) postedBatch {
	t.Helper()
	p := postedBatch{mem0: measureMem(t)}
	var peak int64
	stop := sampleHeap(&peak)
	started := time.Now()
	res, err := http.Post(srv.URL+"/v1/steps/batch", ctype, bytes.NewReader(body))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	p.answer, err = io.ReadAll(res.Body)
	res.Body.Close()
	p.took = time.Since(started)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	p.status, p.peakMiB = res.StatusCode, float64(peak)/(1<<20)
	return p
}

// hostileBatchServer serves a store on SQLite for the hostile batch tests,
// and gives the body they fill: the batch limit, or an eighth of it (4 MiB,
// still a million rows) under -short and the race detector.
func hostileBatchServer(t *testing.T) (*httptest.Server, int) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st}))
	t.Cleanup(srv.Close)
	limit := int(server.DefaultMaxBatchBytes)
	if testing.Short() || raceEnabled {
		limit /= 8
	}
	return srv, limit
}

// TestHostileBatches sends batches of millions of rows within the body
// limit: each must be refused at its first row past the row limit, with a
// short answer, and memory bounded by the body, not by its rows.
func TestHostileBatches(t *testing.T) {
	srv, limit := hostileBatchServer(t)
	// An array of {} up to the body limit: about 11 million invalid rows.
	var empties bytes.Buffer
	empties.Grow(limit)
	empties.WriteByte('[')
	for empties.Len() < limit-4 {
		empties.WriteString("{},")
	}
	empties.WriteString("{}]")
	// Valid CSV rows up to the body limit: about a million.
	var rows bytes.Buffer
	rows.Grow(limit)
	rows.WriteString("component,version,owner,status,time\n")
	for i := 0; ; i++ {
		row := fmt.Sprintf("api,1.%d,ana,build,2024-01-01 00:00:00\n", i)
		if rows.Len()+len(row) > limit {
			break
		}
		rows.WriteString(row)
	}
	for _, tt := range []struct {
		name, ctype string
		body        []byte
		rows        int
	}{
		{"json of {}", "application/json", empties.Bytes(), bytes.Count(empties.Bytes(), []byte("{}"))},
		{"csv of valid rows", "text/csv", rows.Bytes(), bytes.Count(rows.Bytes(), []byte("\n")) - 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := postBatch(t, srv, tt.ctype, tt.body)
			mem1 := measureMem(t)
			t.Logf("%d bytes, %d rows: %d in %v, answer %d bytes; peak live heap %.1f MiB (the test holds both bodies, %.1f MiB each); %s before, %s after",
				len(tt.body), tt.rows, p.status, p.took.Round(time.Millisecond), len(p.answer), p.peakMiB,
				float64(len(tt.body))/(1<<20), p.mem0, mem1)
			if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(p.answer), strconv.Itoa(model.MaxBatchSteps)) {
				t.Errorf("answer %d %.200s, want 413 naming the limit of %d steps", p.status, p.answer, model.MaxBatchSteps)
			}
			if len(p.answer) > 4<<10 {
				t.Errorf("answer is %d bytes", len(p.answer))
			}
			// The server decodes the body as it arrives: beyond the bodies
			// the test holds, a few megabytes of buffers and one page of rows.
			if peakMiB, bound := p.peakMiB, p.mem0.heapMiB+32; peakMiB > bound {
				t.Errorf("peak heap %.0f MiB, want under %.0f MiB", peakMiB, bound)
			}
		})
	}
	t.Run("error report", func(t *testing.T) {
		body := "[" + strings.TrimSuffix(strings.Repeat(`{"component":"api"},`, 500), ",") + "]"
		res, err := http.Post(srv.URL+"/v1/steps/batch", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got struct {
			Error    string           `json:"error"`
			Rows     []model.RowError `json:"rows"`
			MoreRows int              `json:"more_rows"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 400 || len(got.Rows) != model.MaxRowErrors || got.MoreRows != 500-model.MaxRowErrors {
			t.Errorf("500 invalid rows: %d, %d rows listed and %d more, want 400, %d and %d", res.StatusCode, len(got.Rows), got.MoreRows, model.MaxRowErrors, 500-model.MaxRowErrors)
		}
		if len(got.Rows) > 0 && (got.Rows[0].Row != 1 || got.Rows[len(got.Rows)-1].Row != model.MaxRowErrors) {
			t.Errorf("rows listed from %d to %d, want the first %d", got.Rows[0].Row, got.Rows[len(got.Rows)-1].Row, model.MaxRowErrors)
		}
		if !strings.Contains(got.Error, "500 of the batch's rows are invalid") || !strings.Contains(got.Error, "400 more") {
			t.Errorf("message %q does not say how many rows are invalid and how many are not listed", got.Error)
		}
	})
}

// TestHostileWideCSV sends CSV batches of one record as wide as the body
// limit allows: a header of millions of short column names, and a valid
// header followed by a row of millions of empty fields. encoding/csv
// keeps a record's every field before returning it, which cost ten times
// the body; the batch is refused at the first field past the bound
// instead, and a comma or newline inside quotes is no field.
func TestHostileWideCSV(t *testing.T) {
	srv, limit := hostileBatchServer(t)
	var header bytes.Buffer
	header.Grow(limit)
	for i := 0; header.Len() < limit-16; i++ {
		fmt.Fprintf(&header, "x%d,", i)
	}
	header.WriteString("x\n")
	row := []byte("component,version,owner,status\napi,1,ana,build")
	row = append(row, bytes.Repeat([]byte(","), limit-len(row)-1)...)
	row = append(row, '\n')
	for _, tt := range []struct {
		name string
		body []byte
		line string
	}{{"header", header.Bytes(), "line 1 "}, {"row", row, "line 2 "}} {
		t.Run(tt.name, func(t *testing.T) {
			p := postBatch(t, srv, "text/csv", tt.body)
			t.Logf("%d bytes: %d; peak live heap %.1f MiB (the test holds the body); %s before", len(tt.body), p.status, p.peakMiB, p.mem0)
			if p.status != http.StatusBadRequest || !strings.Contains(string(p.answer), tt.line) || !strings.Contains(string(p.answer), "fields") {
				t.Errorf("answer %d %.300s, want 400 saying %sholds too many fields", p.status, p.answer, tt.line)
			}
			if peakMiB, bound := p.peakMiB, p.mem0.heapMiB+32; peakMiB > bound {
				t.Errorf("peak heap %.0f MiB, want under %.0f MiB", peakMiB, bound)
			}
		})
	}
	t.Run("quoted commas and newlines", func(t *testing.T) {
		body := "component,version,owner,status\n\"" + strings.Repeat(",", 120) + "\",1,ana,\"bu\"\"ild\"\n" +
			"\"a\nb\",1,ana,build\n"
		res, err := http.Post(srv.URL+"/v1/steps/batch", "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// The second row's component holds a newline: refused by its
		// rule, not by the bound.
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(answer), "control characters") {
			t.Errorf("answer %d %.300s, want 400 for the newline in row 2's component only", res.StatusCode, answer)
		}
		body = "component,version,owner,status\n\"" + strings.Repeat(",", 120) + "\",1,ana,\"bu\"\"ild\"\r\n"
		res, err = http.Post(srv.URL+"/v1/steps/batch", "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || !strings.Contains(string(answer), `"status":"bu\"ild"`) {
			t.Errorf("answer %d %.300s, want 201 with the 120 commas in one field", res.StatusCode, answer)
		}
	})
}

// TestHostileWideJSONRow sends an NDJSON batch of one row, as long as a
// row may be (model.MaxBatchRowBytes), whose value is an object of a
// hundred thousand members, under a field the batch ignores (an export's
// id) and under one it reads. The row is refused at the value, which used
// to be read through first: jsontext keeps every member name of a skipped
// object to refuse duplicates, 300 MB and four seconds for one 32 MiB row
// before rows were bounded (TestHostileLongRow).
func TestHostileWideJSONRow(t *testing.T) {
	srv, _ := hostileBatchServer(t)
	for _, field := range []string{"id", "environment"} {
		t.Run(field, func(t *testing.T) {
			var body bytes.Buffer
			body.Grow(model.MaxBatchRowBytes)
			body.WriteString(`{"component":"api","version":"1","owner":"ana","status":"build","` + field + `":{`)
			for i := 0; body.Len() < model.MaxBatchRowBytes-32; i++ {
				fmt.Fprintf(&body, `"k%d":1,`, i)
			}
			body.WriteString(`"z":1}}` + "\n")
			p := postBatch(t, srv, "application/x-ndjson", body.Bytes())
			t.Logf("%d bytes: %d in %v; peak live heap %.1f MiB (the test holds the body); %s before", body.Len(), p.status, p.took.Round(time.Millisecond), p.peakMiB, p.mem0)
			if p.status != http.StatusBadRequest || !strings.Contains(string(p.answer), `"field":"`+field+`"`) {
				t.Errorf("answer %d %.300s, want 400 naming %s", p.status, p.answer, field)
			}
			// The line itself is held, and the buffer it grew in.
			if peakMiB, bound := p.peakMiB, p.mem0.heapMiB+float64(3*model.MaxBatchRowBytes)/(1<<20); peakMiB > bound {
				t.Errorf("peak heap %.0f MiB, want under %.0f MiB", peakMiB, bound)
			}
		})
	}
}

// TestHostileLongRow sends batches whose second row fills the body limit:
// one long string in a JSON array's item, in an NDJSON line and in a
// quoted CSV field. Each row was read whole before it was judged, a
// 32 MiB item costing 130–160 MB of heap; each is refused at
// model.MaxBatchRowBytes instead, naming the row and the bound, its
// memory near the bound.
func TestHostileLongRow(t *testing.T) {
	srv, limit := hostileBatchServer(t)
	const valid = `{"component":"api","version":"1","owner":"ana","status":"build"}`
	for _, tt := range []struct {
		name, ctype string
		head, tail  string // around the long string
		where       string
	}{
		{"json item", "application/json", "[" + valid + `,{"component":"api","version":"1","owner":"ana","status":"`, `"}]`, "at item 2 of the JSON array,"},
		{"ndjson line", "application/x-ndjson", valid + "\n\n" + `{"component":"api","version":"1","owner":"ana","status":"`, "\"}\n", "at line 3 of the NDJSON,"},
		{"csv quoted field", "text/csv", "component,version,owner,status\napi,1,ana,build\napi,1,ana,\"x\nx,", "\"\n", "at line 3 of the CSV,"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := make([]byte, 0, limit)
			body = append(body, tt.head...)
			body = append(body, bytes.Repeat([]byte("x"), limit-len(tt.head)-len(tt.tail))...)
			body = append(body, tt.tail...)
			p := postBatch(t, srv, tt.ctype, body)
			t.Logf("%d bytes: %d in %v; peak live heap %.1f MiB (the test holds the body); %s before; %.300s",
				len(body), p.status, p.took.Round(time.Millisecond), p.peakMiB, p.mem0, p.answer)
			var got struct {
				Code string           `json:"code"`
				Rows []model.RowError `json:"rows"`
			}
			if err := json.Unmarshal(p.answer, &got); err != nil {
				t.Fatalf("answer %d %.300s: %v", p.status, p.answer, err)
			}
			bound := strconv.Itoa(model.MaxBatchRowBytes)
			if p.status != http.StatusBadRequest || len(got.Rows) != 1 || got.Rows[0].Row != 2 ||
				!strings.Contains(got.Rows[0].Error, bound) || !strings.Contains(got.Rows[0].Error, tt.where) {
				t.Errorf("answer %d %.300s, want 400 listing row 2 (%s) as longer than %s bytes", p.status, p.answer, tt.where, bound)
			}
			// One row's bytes in the decoder's buffer, grown by doubling,
			// and a copy of them: a few MiB, where a 32 MiB row cost over
			// 100.
			if peakMiB, bound := p.peakMiB, p.mem0.heapMiB+12; peakMiB > bound {
				t.Errorf("peak heap %.1f MiB, want under %.0f MiB", peakMiB, bound)
			}
		})
	}
	// The row that ended the batch is listed even past a full report.
	t.Run("after a full error report", func(t *testing.T) {
		const invalid = 150
		body := "[" + strings.Repeat("{},", invalid) + `{"component":"` + strings.Repeat("x", 2*model.MaxBatchRowBytes) + `"}]`
		res, err := http.Post(srv.URL+"/v1/steps/batch", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got struct {
			Rows     []model.RowError `json:"rows"`
			MoreRows int              `json:"more_rows"`
		}
		if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		last := model.RowError{}
		if len(got.Rows) > 0 {
			last = got.Rows[len(got.Rows)-1]
		}
		if res.StatusCode != 400 || len(got.Rows) != model.MaxRowErrors || got.MoreRows != invalid+1-model.MaxRowErrors ||
			last.Row != invalid+1 || !strings.Contains(last.Error, "longer than") {
			t.Errorf("%d invalid rows and a long one: %d, %d listed (the last %+v) and %d more, want 400, %d listed ending with row %d, and %d more",
				invalid, res.StatusCode, len(got.Rows), last, got.MoreRows, model.MaxRowErrors, invalid+1, invalid+1-model.MaxRowErrors)
		}
	})
}

// smallBuffers accepts connections with a small send buffer, so that a
// client that does not read fills it after a few kilobytes of an export,
// not a few megabytes: the stall a large history gives, on a small one.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10) //nolint:errcheck // only speeds the stall up
	}
	return c, err
}

// stallableServer serves cfg on smallBuffers, closed when the test ends.
func stallableServer(t *testing.T, cfg server.Config) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(server.New(cfg))
	ts.Listener = smallBuffers{ts.Listener}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// getWhole GETs url with client and reads the answer whole.
func getWhole(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// TestHostileStalledExports opens forty exports that never read their
// answer, and checks that meanwhile a writer and the readiness probe are
// answered promptly: no stalled reader holds a database connection.
func TestHostileStalledExports(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		// Each export's answer must be well past the socket buffers (a few
		// kilobytes here, see smallBuffers): 100 bytes a step.
		rows := 20000
		if testing.Short() || raceEnabled {
			rows = 2000
		}
		began := time.Now()
		st := seed(t, fresh(t), rows)
		seeded := time.Since(began)
		const stalled = 40
		// All from one address: let each export in, past the per-client
		// bound TestHostileStalledListsPerClient checks.
		ts := httptest.NewUnstartedServer(server.New(server.Config{Store: st, ClientLists: stalled}))
		ts.Listener = smallBuffers{ts.Listener}
		ts.Start()
		t.Cleanup(ts.Close) // after stallLists' cleanup closes the stalled connections
		addr := ts.Listener.Addr().String()
		mem0 := measureMem(t)

		// (Before the fix, exports past the pool's size never started.)
		conns := stallLists(t, addr, stalled, "/v1/steps?format=csv", "/v1/deployments?format=csv", "/v1/steps?format=ndjson")
		pool := st.DB().Stats()

		client := &http.Client{Timeout: 15 * time.Second}
		var slowestWrite, slowestReady time.Duration
		// timed sends one request during the stall and keeps its slowest time.
		timed := func(what string, slowest *time.Duration, want int, send func() (*http.Response, error)) bool {
			started := time.Now()
			res, err := send()
			took := time.Since(started)
			*slowest = max(*slowest, took)
			if err != nil {
				t.Errorf("%s during the stall: %v after %v", what, err, took)
				return false
			}
			res.Body.Close()
			if res.StatusCode != want || took > 5*time.Second {
				t.Errorf("%s during the stall: %d after %v, want %d within 5 s", what, res.StatusCode, took, want)
				return false
			}
			return true
		}
		for i := range 10 {
			wrote := timed("write", &slowestWrite, 201, func() (*http.Response, error) {
				return client.Post(ts.URL+"/v1/steps?component=api&version=2.0&owner=ana&status=build&environment=e"+strconv.Itoa(i), "", nil)
			})
			ready := timed("/readyz", &slowestReady, 200, func() (*http.Response, error) { return client.Get(ts.URL + "/readyz") })
			if !wrote || !ready {
				break // once is enough to tell
			}
		}
		mem1 := measureMem(t)
		t.Logf("(seeded in %v, attack ran %v) %d stalled exports (%d answering) of %d steps: database connections in use %d of %d open (max %d); slowest of 10 writes %v, slowest /readyz %v; %s before, %s during",
			seeded.Round(time.Millisecond), time.Since(began.Add(seeded)).Round(time.Millisecond), stalled, exportsAnswering(conns, make([]bool, stalled)), rows, pool.InUse, pool.OpenConnections, pool.MaxOpenConnections, slowestWrite.Round(time.Microsecond),
			slowestReady.Round(time.Microsecond), mem0, mem1)
		// Each stalled handler holds one page (up to 8,000 steps or 100
		// deployments) and its write buffer, no more.
		if grew := mem1.heapMiB - mem0.heapMiB; grew > 64 {
			t.Errorf("heap grew by %.0f MiB with %d stalled exports", grew, stalled)
		}
		if pool.MaxOpenConnections > 0 && pool.InUse >= pool.MaxOpenConnections {
			t.Errorf("stalled readers hold all %d database connections", pool.InUse)
		}
	})
}

// TestHostileStalledListsPerClient opens, from one client, a hundred
// lists of a page of 10,000 steps each that it never reads. Each handler
// holds its page until the client reads it or writeTimeout cuts it off, so
// before the bound a hundred such lists of long values held over 1 GB.
// Past Config.ClientLists the client is answered 429 with Retry-After at
// once, and its slots come back when it closes its connections.
func TestHostileStalledListsPerClient(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := seed(t, fresh(t), 2000)
		ts := httptest.NewUnstartedServer(server.New(server.Config{Store: st}))
		ts.Listener = smallBuffers{ts.Listener}
		ts.Start()
		t.Cleanup(ts.Close) // after stallLists' cleanup closes the stalled connections
		addr := ts.Listener.Addr().String()
		mem0 := measureMem(t)

		const attempts = 100
		conns := stallLists(t, addr, attempts, "/v1/steps?format=json&limit=10000", "/v1/steps?format=csv", "/v1/deployments?format=ndjson")
		mem1 := measureMem(t)

		client := &http.Client{Timeout: 15 * time.Second}
		res, err := client.Get(ts.URL + "/v1/steps?format=json&limit=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "lists in progress") {
			t.Errorf("a list past %d stalled ones of one client: %d (Retry-After %q) %s, want 429 with Retry-After", attempts, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		// Writes and the probe are not lists: still answered.
		if res, err := client.Post(ts.URL+"/v1/steps?component=api&version=2.0&owner=ana&status=build", "", nil); err != nil || res.StatusCode != http.StatusCreated {
			t.Errorf("a write during the stall: %v %v, want 201", res, err)
		} else {
			res.Body.Close()
		}
		t.Logf("%d stalled lists from one client: %s before, %s during", attempts, mem0, mem1)
		if grew := mem1.heapMiB - mem0.heapMiB; grew > 32 {
			t.Errorf("heap grew by %.0f MiB with %d stalled lists from one client", grew, attempts)
		}

		closeAndWaitForLists(t, conns, client, ts.URL+"/v1/steps?format=json&limit=1")
	})
}

// stallLists opens n connections to addr with a small receive window, asks
// each for one of paths in turn and never reads: the server's writes
// block. It returns once every answer has begun (or after 5 s), and closes
// the connections when the test ends.
func stallLists(t *testing.T, addr string, n int, paths ...string) []net.Conn {
	t.Helper()
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) }) //nolint:errcheck // only speeds the stall up
	}}
	for i := range n {
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: stepsd\r\n\r\n", paths[i%len(paths)])
	}
	// Long enough for answers built under -race on a busy host (sixteen
	// stats answers of 8 MB took over 5 s in CI): the loop ends as soon as
	// every answer has begun.
	answering := make([]bool, n)
	for deadline := time.Now().Add(60 * time.Second); exportsAnswering(conns, answering) < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	return conns
}

// exportsAnswering counts the connections whose answer has begun, marking
// them in answering. One byte is read of each: the window stays all but
// full, and the server blocked writing.
func exportsAnswering(conns []net.Conn, answering []bool) int {
	n := 0
	for i, c := range conns {
		if !answering[i] {
			c.SetReadDeadline(time.Now().Add(time.Millisecond)) //nolint:errcheck // a peek
			var b [1]byte
			k, _ := c.Read(b[:])
			answering[i] = k > 0
		}
		if answering[i] {
			n++
		}
	}
	return n
}

// TestHostileRateLimit checks that the limiter keys on who is calling after
// auth: made-up tokens share their address's bucket, clients sharing one
// write token have a bucket each, and the limiter's memory is bounded
// whatever the number of addresses.
func TestHostileRateLimit(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	const maxClients = 20
	newServer := func(tokens ...server.Token) *httptest.Server {
		return httptest.NewServer(server.New(server.Config{Store: st, RateLimit: 0.1, RateBurst: 3, RateClients: maxClients, Tokens: tokens}))
	}
	// from returns a client whose connections come from 127.0.0.n.
	from := func(n int) *http.Client {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	}
	call := func(c *http.Client, method, url, token string) int {
		req, _ := http.NewRequest(method, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck // only the status matters
		res.Body.Close()
		return res.StatusCode
	}
	post := "/v1/steps?component=api&version=1&owner=ana&status=build"

	for _, open := range []bool{true, false} {
		t.Run(fmt.Sprintf("open=%v/rotating made-up tokens", open), func(t *testing.T) {
			var srv *httptest.Server
			if open {
				srv = newServer()
			} else {
				srv = newServer(server.Token{Scope: server.ScopeWrite, Secret: "write-secret"})
			}
			defer srv.Close()
			c := from(2)
			limited := 0
			for i := range 20 {
				if call(c, "GET", srv.URL+"/v1/steps?limit=1", fmt.Sprintf("made-up-%d", i)) == http.StatusTooManyRequests {
					limited++
				}
			}
			if limited < 15 {
				t.Errorf("%d of 20 requests with rotating made-up tokens limited, want 17 (burst 3)", limited)
			}
			if n := limitedClients(t, srv.URL); n != 1 {
				t.Errorf("the limiter remembers %d clients after one address rotated tokens, want 1", n)
			}
		})
	}

	t.Run("shared write token", func(t *testing.T) {
		srv := newServer(server.Token{Scope: server.ScopeWrite, Secret: "write-secret"})
		defer srv.Close()
		flooder, other := from(3), from(4)
		for range 10 {
			call(flooder, "POST", srv.URL+post, "write-secret")
		}
		if got := call(flooder, "POST", srv.URL+post, "write-secret"); got != http.StatusTooManyRequests {
			t.Errorf("flooding writer: %d, want 429", got)
		}
		if got := call(other, "POST", srv.URL+post, "write-secret"); got != http.StatusCreated {
			t.Errorf("another writer with the same token: %d, want 201", got)
		}
	})

	t.Run("many addresses", func(t *testing.T) {
		srv := newServer()
		defer srv.Close()
		for n := 10; n < 10+5*maxClients; n++ {
			call(from(n), "GET", srv.URL+"/v1/steps?limit=1", "")
		}
		if got := limitedClients(t, srv.URL); got > maxClients {
			t.Errorf("the limiter remembers %d clients, want at most %d", got, maxClients)
		}
	})
}

// limitedClients reads steps_rate_limited_clients from /metrics.
func limitedClients(t *testing.T, url string) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(metricsBody(t, url)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "steps_rate_limited_clients "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no steps_rate_limited_clients in /metrics")
	return 0
}

// TestHostileStats checks that one back-dated deployment (a 1970 time) with
// fifty step names cannot make the stats answer hundreds of megabytes: its
// run of empty buckets is one gap, too many buckets with deployments are
// refused with advice when the request named since (and read from the
// latest that fit when it did not), and what is answered is bounded.
func TestHostileStats(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st}))
	defer srv.Close()
	var rows []map[string]string
	deploy := func(component string, start time.Time) {
		for i := range 51 {
			status := fmt.Sprintf("step-%02d", i)
			if i == 50 {
				status = "finished"
			}
			rows = append(rows, map[string]string{"component": component, "version": "1.0", "owner": "ana",
				"status": status, "time": start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)})
		}
	}
	deploy("legacy", time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))
	deploy("api", time.Now().UTC().Add(-2*time.Hour).Truncate(time.Second))
	// A failed deploy a day for 1001 days: more day buckets with
	// deployments than stats compute over (outcome=failure).
	for i := range model.MaxStatsBuckets + 1 {
		start := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		for j, status := range []string{"build", "failed"} {
			rows = append(rows, map[string]string{"component": "burst", "version": strconv.Itoa(i), "owner": "ana",
				"status": status, "time": start.Add(time.Duration(j) * time.Minute).Format(time.RFC3339)})
		}
	}
	body, _ := json.Marshal(rows)
	res, err := http.Post(srv.URL+"/v1/steps/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("batch: %d", res.StatusCode)
	}
	for _, tt := range []struct {
		query  string
		status int
	}{
		{"bucket=day&outcome=failure&since=2019-01-01", 400}, // the burst's days
		{"bucket=day&outcome=failure", 200},                  // the latest of them
		{"bucket=day", 200},                                  // days since 1970: one gap
		{"", 200},                                            // weeks since 1970: one gap
		{"bucket=month", 200},
		{"bucket=day&since=2026-01-01", 200},
	} {
		mem0 := measureMem(t)
		var peak int64
		stop := sampleHeap(&peak)
		res, err := http.Get(srv.URL + "/v1/stats?" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := io.ReadAll(res.Body)
		res.Body.Close()
		stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stats?%s: %d, %d bytes; peak live heap %.1f MiB (%s before)", tt.query, res.StatusCode, len(answer), float64(peak)/(1<<20), mem0)
		if res.StatusCode != tt.status {
			t.Errorf("stats?%s: %d %.300s, want %d", tt.query, res.StatusCode, answer, tt.status)
		}
		if tt.status == 400 && (!strings.Contains(string(answer), "since") || !strings.Contains(string(answer), `"field":"bucket"`)) {
			t.Errorf("stats?%s: %s gives no advice", tt.query, answer)
		}
		fitted := strings.Contains(tt.query, "failure") && tt.status == 200
		if tt.status == 200 && fitted == strings.Contains(string(answer), `"fitted_since":null`) {
			t.Errorf("stats?%s: fitted_since in %.300s; want it only where the range was fitted", tt.query, answer)
		}
		if tt.status == 200 && !strings.Contains(tt.query, "month") && !fitted && !strings.Contains(string(answer), `"gap":`) && !strings.Contains(tt.query, "since") {
			t.Errorf("stats?%s: no gap bucket in the answer", tt.query)
		}
		if len(answer) > 16<<20 {
			t.Errorf("stats?%s: %d bytes", tt.query, len(answer))
		}
		if peakMiB := float64(peak) / (1 << 20); peakMiB > mem0.heapMiB+128 {
			t.Errorf("stats?%s: peak heap %.0f MiB", tt.query, peakMiB)
		}
	}
}

// TestHostileBackDatedWeeksLeaveTheDefaultViews: one batch of 1,001
// deployments a week apart, back-dated to 2000, which anyone who may
// write can send, made the default GET /v1/stats and /v1/dora (weeks over
// all history) and the page over all history a 400 for every reader. They
// now read the latest weeks that fit, the team's own deploy among them,
// and say from when; a request that names since still gets the advice.
func TestHostileBackDatedWeeksLeaveTheDefaultViews(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	var rows []string
	add := func(component, version string, at time.Time) {
		for j, status := range []string{"build", "finished"} {
			rows = append(rows, fmt.Sprintf(`{"component":%q,"version":%q,"owner":"eve","status":%q,"environment":"production","time":%q}`,
				component, version, status, at.Add(time.Duration(j)*time.Minute).Format(time.RFC3339)))
		}
	}
	for i := range model.MaxStatsBuckets + 1 {
		add("junk", strconv.Itoa(i), time.Date(2000, 1, 3, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i))
	}
	add("api", "2.0", t0.Add(-time.Hour))
	r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json")
	if r.status != 201 {
		t.Fatalf("batch = %d %s", r.status, r.body)
	}

	r = ts.do(t, "GET", "/v1/stats", nil)
	var st model.Stats
	if r.status != 200 {
		t.Fatalf("GET /v1/stats = %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	last := st.Buckets[len(st.Buckets)-1]
	if st.FittedSince == nil || st.FittedSince.Year() < 2000 || last.Count != 1 || !last.End.After(t0.Add(-time.Hour)) ||
		!strings.Contains(st.Summary, "Deployments before "+st.FittedSince.Format(time.DateOnly)+" are left out") {
		t.Errorf("stats: fitted_since %v, last bucket %+v, summary %q; want the latest weeks, the api deploy in the last, and a sentence saying from when",
			st.FittedSince, last, st.Summary)
	}

	r = ts.do(t, "GET", "/v1/dora", nil)
	var dora model.DORA
	if r.status != 200 {
		t.Fatalf("GET /v1/dora = %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &dora); err != nil {
		t.Fatal(err)
	}
	if dora.FittedSince == nil || dora.Overall.Start == nil || !dora.Overall.Start.Equal(*dora.FittedSince) {
		t.Errorf("dora: fitted_since %v, period from %v; want the period to start where it was fitted", dora.FittedSince, dora.Overall.Start)
	}

	p := getPage(t, nil, ts.URL, "/?since=")
	if p.status != 200 || !strings.Contains(p.body, "are left out") || strings.Contains(p.body, "narrow the range") {
		i := strings.Index(p.body, `role="alert"`)
		t.Errorf("the page over all history: %d %.300s", p.status, p.body[max(i, 0):])
	}

	r = ts.do(t, "GET", "/v1/stats?since=1999-01-01", nil)
	if r.status != 400 || !strings.Contains(string(r.body), "narrow the range") {
		t.Errorf("stats with since: %d %s; want the advice", r.status, r.body)
	}
}
