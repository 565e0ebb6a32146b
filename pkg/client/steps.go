package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

const maxPageSize = model.MaxLimit

// NewIdempotencyKey returns a fresh random key for RecordWithKey: 26
// base32 characters carrying 128 random bits, as unlikely to repeat as a
// UUID and within the header's printable-ASCII rule.
func NewIdempotencyKey() string {
	return rand.Text()
}

// Record stores one step and returns it as the server stored it (with its
// id, time and receipt time). A zero in.Time means "now": the server's
// receipt time. When the first attempt cannot even connect (the server is
// down or restarting: connection refused, no route, a name that does not
// resolve), the retries carry that attempt's moment as an explicit time,
// on this machine's clock, so that a step which gets through seconds later
// is not stamped late. Once an attempt may have reached the server (a
// timeout, a broken connection, any answer), the retries send exactly what
// it sent. An explicit in.Time is never changed. Record sends a fresh
// random Idempotency-Key and keeps it across its retries, so a retry after
// a lost response never stores a second row.
func (c *Client) Record(ctx context.Context, in model.StepInput) (model.Step, error) {
	// The key is this call's alone, so no later request can carry it with
	// the input as the caller gave it and be refused for the time added.
	return c.record(ctx, NewIdempotencyKey(), in, true)
}

// RecordWithKey is Record with a key the caller chose: sending the same key
// and input again, even from another process or days later, returns the
// step stored the first time instead of storing another. The same key with
// a different input fails with an *APIError of code model.EUNPROCESSABLE.
// An empty key sends no Idempotency-Key (retries may then duplicate).
//
// Unlike Record, RecordWithKey sends an input without a time as it is on
// every attempt, even when the first could not connect: the server then
// stamps it when an attempt gets through, up to RetryPolicy.MaxElapsed
// late. Record's explicit time would make the key's stored input differ
// from the caller's, and sending that input again under the key a 422.
// To keep a step's time across an outage, set in.Time, or make the client
// WithKeyedStamps when a 422 on the key may count as delivered.
func (c *Client) RecordWithKey(ctx context.Context, key string, in model.StepInput) (model.Step, error) {
	return c.record(ctx, key, in, c.stampsKeyed())
}

// record sends in under key. With stamp, an input without a time is given
// the first attempt's when that attempt never reached the server (see
// request.stamp).
func (c *Client) record(ctx context.Context, key string, in model.StepInput, stamp bool) (model.Step, error) {
	if err := model.ValidateIdempotencyKey(key); err != nil {
		return model.Step{}, err
	}
	if err := checkUTF8(in); err != nil {
		return model.Step{}, err
	}
	in = in.Normalized()
	body, err := jsonBody(in)
	if err != nil {
		return model.Step{}, err
	}
	var step model.Step
	req := request{method: http.MethodPost, path: "/v1/steps", body: body, idempotencyKey: key}
	if stamp && in.Time.IsZero() {
		req.stamp = func(at time.Time) ([]byte, error) {
			in.Time = model.TruncateTime(at)
			return jsonBody(in)
		}
	}
	err = c.do(ctx, req, func(resp *http.Response) error {
		return decodeJSON(resp, &step)
	})
	return step, err
}

// RecordBatch stores many steps in one all-or-nothing transaction and
// returns them in order. Explicit times are kept (imports); rows without
// one take the server's receipt time or, when the first attempt could not
// connect, that attempt's moment, as with Record. It sends a fresh
// Idempotency-Key for the whole batch, kept across retries. When rows are
// invalid, nothing is stored and the *APIError lists them in Rows.
func (c *Client) RecordBatch(ctx context.Context, ins []model.StepInput) ([]model.Step, error) {
	res, err := c.sendBatch(ctx, NewIdempotencyKey(), ins, BatchOptions{}, true)
	return res.Steps, err
}

// RecordBatchWithKey is RecordBatch with a key the caller chose, as
// RecordWithKey: rows without a time are sent as they are on every
// attempt, unless the client is WithKeyedStamps.
func (c *Client) RecordBatchWithKey(ctx context.Context, key string, ins []model.StepInput) ([]model.Step, error) {
	res, err := c.SendBatch(ctx, key, ins)
	return res.Steps, err
}

// BatchResult is the server's answer to a batch.
type BatchResult struct {
	Steps []model.Step // the stored steps, in the order sent
	// Replayed reports that the server had already stored this batch under
	// its key, and stored nothing now: a batch sent again (an import run a
	// second time). A batch stored by an earlier attempt of the same call,
	// whose answer was lost, comes back replayed too.
	Replayed bool
	// Skipped lists the rows (indexes into the batch) that were not stored
	// because an identical step was: only with BatchOptions.Dedupe.
	Skipped []int
}

// BatchOptions change how a batch is stored.
type BatchOptions struct {
	// Dedupe skips the rows already stored: same component, version,
	// environment, owner, status and explicit time, to the microsecond
	// (an import of an export the server already holds). Rows without a
	// time are never skipped.
	Dedupe bool
}

// SendBatch is RecordBatchWithKey that also says whether the batch was
// stored now or had been stored before under the same key.
func (c *Client) SendBatch(ctx context.Context, key string, ins []model.StepInput) (BatchResult, error) {
	return c.SendBatchWith(ctx, key, ins, BatchOptions{})
}

// SendBatchWith is SendBatch with options.
func (c *Client) SendBatchWith(ctx context.Context, key string, ins []model.StepInput, opts BatchOptions) (BatchResult, error) {
	return c.sendBatch(ctx, key, ins, opts, c.stampsKeyed())
}

// sendBatch sends ins under key. With stamp, its rows without a time are
// given the first attempt's when that attempt never reached the server
// (see request.stamp).
func (c *Client) sendBatch(ctx context.Context, key string, ins []model.StepInput, opts BatchOptions, stamp bool) (BatchResult, error) {
	if err := model.ValidateIdempotencyKey(key); err != nil {
		return BatchResult{}, err
	}
	var invalid model.BatchError
	for i, in := range ins {
		if err := checkUTF8(in); err != nil {
			invalid.AddError(i+1, err)
		}
	}
	if len(invalid.Rows) > 0 {
		return BatchResult{}, &invalid
	}
	norm := make([]model.StepInput, len(ins))
	for i, in := range ins {
		norm[i] = in.Normalized()
	}
	body, err := jsonBody(norm)
	if err != nil {
		return BatchResult{}, err
	}
	var out struct {
		Steps       []model.Step `json:"steps"`
		SkippedRows []int        `json:"skipped_rows"`
	}
	var replayed bool
	req := request{method: http.MethodPost, path: "/v1/steps/batch", body: body, idempotencyKey: key}
	if opts.Dedupe {
		req.query = url.Values{"dedupe": {"true"}}
	}
	if stamp && slices.ContainsFunc(norm, func(in model.StepInput) bool { return in.Time.IsZero() }) {
		req.stamp = func(at time.Time) ([]byte, error) {
			stamped := slices.Clone(norm)
			for i := range stamped {
				if stamped[i].Time.IsZero() {
					stamped[i].Time = model.TruncateTime(at)
				}
			}
			return jsonBody(stamped)
		}
	}
	err = c.do(ctx, req, func(resp *http.Response) error {
		out.Steps, out.SkippedRows = nil, nil
		replayed = resp.Header.Get("Idempotent-Replayed") == "true"
		return decodeJSON(resp, &out)
	})
	if err != nil {
		return BatchResult{}, err
	}
	res := BatchResult{Steps: out.Steps, Replayed: replayed}
	for _, row := range out.SkippedRows {
		if row < 1 || row > len(ins) {
			return BatchResult{}, &ProtocolError{URL: c.shownURL(req.path, req.query), Err: fmt.Errorf("skipped row %d of a batch of %d", row, len(ins))}
		}
		res.Skipped = append(res.Skipped, row-1)
	}
	return res, nil
}

// checkUTF8 refuses a text field that is not valid UTF-8, as the server
// does, before it is sent: JSON cannot carry it, and encoding/json would
// send U+FFFD in place of each bad byte, so that the server stored a value
// other than the caller's instead of refusing it.
func checkUTF8(in model.StepInput) error {
	for _, f := range []struct{ name, value string }{
		{"component", in.Component},
		{"version", in.Version},
		{"owner", in.Owner},
		{"status", in.Status},
		{"environment", in.Environment},
		{"revision", in.Revision},
	} {
		if !utf8.ValidString(f.value) {
			return model.Invalid(f.name, "%s must be valid UTF-8", f.name)
		}
	}
	return nil
}

// Get returns the step with the given id. A missing step is an *APIError
// with status 404, code model.ENOTFOUND and FromAPI set (without it, the
// client's URL reaches something other than stepsd; with code
// model.ENOENDPOINT, a stepsd with no route at that path).
func (c *Client) Get(ctx context.Context, id int64) (model.Step, error) {
	var step model.Step
	req := request{method: http.MethodGet, path: "/v1/steps/" + strconv.FormatInt(id, 10)}
	err := c.do(ctx, req, func(resp *http.Response) error {
		return decodeJSON(resp, &step)
	})
	return step, err
}

// Page is one page of a list.
type Page struct {
	Steps []model.Step
	Next  *model.Cursor // where the next page starts; nil on the last page
}

// ListPage fetches one page of the steps matching f: at most f.Limit steps
// (the client's page size when 0), starting after f.After. Pass the
// returned Next as f.After to fetch the following page.
func (c *Client) ListPage(ctx context.Context, f model.Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = c.pages()
	}
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	req := request{method: http.MethodGet, path: "/v1/steps", query: listQuery(f)}
	steps, next, err := getPage[model.Step](ctx, c, req, "steps", model.ParseCursor)
	return Page{Steps: steps, Next: next}, err
}

// Steps returns an iterator over the steps matching f, fetching one page at
// a time as the loop goes on, so memory does not grow with the number of
// steps. f.Limit caps the total number of steps (0: all). An error ends the
// iteration with a zero step and the error; so does ctx once it is done
// (errors.Is(err, context.Canceled)), even in the middle of a page:
//
//	for step, err := range c.Steps(ctx, f) {
//		if err != nil {
//			return err
//		}
//		…
//	}
func (c *Client) Steps(ctx context.Context, f model.Filter) iter.Seq2[model.Step, error] {
	return paginate(ctx, f.Limit, c.pages(), f.After, func(limit int, after *model.Cursor) ([]model.Step, *model.Cursor, error) {
		page := f
		page.Limit, page.After = limit, after
		p, err := c.ListPage(ctx, page)
		return p.Steps, p.Next, err
	})
}

// List returns all the steps matching f (at most f.Limit when it is set),
// fetching as many pages as needed. For lists too long to hold in memory,
// range over Steps instead.
func (c *Client) List(ctx context.Context, f model.Filter) ([]model.Step, error) {
	steps := []model.Step{}
	for s, err := range c.Steps(ctx, f) {
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// listQuery encodes a filter as the query of GET /v1/steps, always asking
// for JSON (the server's default format is CSV, as the original API's).
func listQuery(f model.Filter) url.Values {
	q := url.Values{"format": {"json"}}
	for _, p := range []struct{ key, value string }{
		{"component", f.Component},
		{"version", f.Version},
		{"owner", f.Owner},
		{"status", f.Status},
		{"environment", f.Environment},
		{"order", f.Order},
	} {
		if p.value != "" {
			q.Set(p.key, p.value)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", sinceParam(f.Since, f.Until))
	}
	if !f.Until.IsZero() {
		q.Set("until", untilParam(f.Until))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.After != nil {
		q.Set("cursor", f.After.String())
	}
	return q
}
