package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"

	"github.com/steps-dev/steps/pkg/model"
)

// getPage fetches one page of a JSON list, {"<field>": [...], "next": "…"},
// and parses its next-page cursor (also sent as X-Next-Cursor).
func getPage[T, C any](ctx context.Context, c *Client, req request, field string, parseCursor func(string) (*C, error)) ([]T, *C, error) {
	var items []T
	var next string
	err := c.do(ctx, req, func(resp *http.Response) error {
		var body map[string]json.RawMessage
		if err := decodeJSON(resp, &body); err != nil {
			return err
		}
		items = nil
		if err := json.Unmarshal(body[field], &items); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		next = ""
		if raw, ok := body["next"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return fmt.Errorf("next: %w", err)
			}
		}
		if next == "" {
			next = resp.Header.Get("X-Next-Cursor")
		}
		return nil
	})
	if err != nil || next == "" {
		return items, nil, err
	}
	cursor, err := parseCursor(next)
	if err != nil {
		return nil, nil, &ProtocolError{URL: c.shownURL(req.path, req.query), Err: fmt.Errorf("next cursor: %w", err)}
	}
	return items, cursor, nil
}

// paginate iterates over every item of a paged list, fetching a page at a
// time from after; limit caps the total (0: all). Once ctx is done it
// yields ctx's error and stops, also in the middle of a page.
func paginate[T, C any](ctx context.Context, limit, pageSize int, after *C, fetch func(limit int, after *C) ([]T, *C, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		remaining := limit
		if remaining < 0 {
			yield(zero, model.Invalid("limit", "limit must not be negative"))
			return
		}
		for {
			n := pageSize
			if remaining > 0 && remaining < n {
				n = remaining
			}
			items, next, err := fetch(n, after)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range items {
				// The page is in hand, but a caller that cancelled (a
				// Ctrl-C, a deadline met) got up to a page more of
				// steps (a thousand by default) before the error.
				if err := ctx.Err(); err != nil {
					yield(zero, fmt.Errorf("client: listing stopped: %w", err))
					return
				}
				if !yield(item, nil) {
					return
				}
				if remaining > 0 {
					if remaining--; remaining == 0 {
						return
					}
				}
			}
			if next == nil || len(items) == 0 {
				return
			}
			after = next
		}
	}
}
