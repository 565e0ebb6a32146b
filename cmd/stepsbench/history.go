package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"time"
)

// seedChunk is how many steps one POST /v1/steps/batch carries: the API's
// limit per request.
const seedChunk = 10_000

// seedStart is the time of the first seeded step. Step i happens i
// spacings later (seedSpacing), so a million steps span about two years,
// all in the past.
var seedStart = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// seedSpacing is the time between seeded steps when total are seeded: a
// minute, or less when a minute each would take the last step past now
// (ten million minutes run to 2039, and stepsd refuses steps in the
// future). Times are sent to the second: the spacing is at least one.
func seedSpacing(total int, now time.Time) time.Duration {
	span := now.Add(-24 * time.Hour).Sub(seedStart)
	if time.Duration(total)*time.Minute <= span {
		return time.Minute
	}
	return max(time.Second, (span / time.Duration(total)).Truncate(time.Second))
}

// appendSeedStep appends step i of the generated history as JSON: five
// steps per deploy, five components taking turns, a new version every
// five deploys — the shape pkg/server's benchmarks seed — spacing apart.
func appendSeedStep(b []byte, i int, spacing time.Duration) []byte {
	b = append(b, `{"component":"component-`...)
	b = strconv.AppendInt(b, int64((i/5)%5), 10)
	b = append(b, `","version":"1.`...)
	b = strconv.AppendInt(b, int64(i/25), 10)
	b = append(b, `.0","owner":"deploy-bot","status":"`...)
	b = append(b, loadStatuses[i%len(loadStatuses)]...)
	b = append(b, `","environment":"production","time":"`...)
	b = seedStart.Add(time.Duration(i)*spacing).AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// seed stores steps [from, to) of the generated history, spacing apart,
// through POST /v1/steps/batch, in chunks, one after another.
func seed(ctx context.Context, hc *http.Client, base string, from, to int, spacing time.Duration) error {
	var body []byte
	for lo := from; lo < to; lo += seedChunk {
		hi := min(lo+seedChunk, to)
		body = append(body[:0], '[')
		for i := lo; i < hi; i++ {
			if i > lo {
				body = append(body, ',')
			}
			body = appendSeedStep(body, i, spacing)
		}
		body = append(body, ']')
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/steps/batch", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("seed rows %d-%d: %w", lo, hi, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		io.Copy(io.Discard, res.Body) //nolint:errcheck // the status is what counts
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("seed rows %d-%d: %s: %s", lo, hi, res.Status, msg)
		}
	}
	return nil
}

// transfer is one whole response read: how long it took, its size and its
// number of lines.
type transfer struct {
	Elapsed time.Duration
	Bytes   int64
	Lines   int64
}

// lineCounter counts the bytes and newlines written to it.
type lineCounter struct {
	bytes, lines int64
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// fetch GETs url and reads the whole body, as a client saving an export.
func fetch(ctx context.Context, hc *http.Client, url string) (transfer, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return transfer{}, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return transfer{}, err
	}
	defer res.Body.Close()
	var c lineCounter
	_, err = io.CopyBuffer(&c, res.Body, make([]byte, 64<<10))
	t := transfer{Elapsed: time.Since(start), Bytes: c.bytes, Lines: c.lines}
	if err != nil {
		return t, fmt.Errorf("read %s: %w", url, err)
	}
	if res.StatusCode != http.StatusOK {
		return t, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return t, nil
}

// exportQuery is the SELECT stepsd's export runs (pkg/store.listQuery with
// no filter): the same columns in the same order.
const exportQuery = `SELECT id, component, version, owner, status, environment, time, received_at FROM steps ORDER BY time ASC, id ASC`

// clientExport runs the MariaDB command-line client in its streaming batch
// mode over the export's rows, reading its output as fetch reads stepsd's.
func clientExport(ctx context.Context, bin string, srv *mysqlServer, db string) (transfer, error) {
	args, env := srv.clientArgs(db)
	args = append([]string{"--batch", "--quick"}, append(args, "-e", exportQuery)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(env...)
	var c lineCounter
	cmd.Stdout = &c
	errOut := &tailBuffer{max: 2 << 10}
	cmd.Stderr = errOut
	start := time.Now()
	err := cmd.Run()
	t := transfer{Elapsed: time.Since(start), Bytes: c.bytes, Lines: c.lines}
	if err != nil {
		return t, fmt.Errorf("%s: %w: %s", bin, err, errOut.String())
	}
	return t, nil
}
