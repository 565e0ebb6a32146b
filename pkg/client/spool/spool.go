// Package spool keeps step records that could not be delivered to stepsd
// in a file on disk, and delivers them later, in order, each with its
// original time and idempotency key, so that a server outage loses nothing
// and a redelivery never stores a record twice.
//
// The spool is one NDJSON file (one Entry per line) in a directory of its
// own. Appends are fsynced before Append returns. A line torn by a crash
// in the middle of a write is skipped and dropped, never misread. Every
// operation holds an exclusive lock on a lock file beside the spool, so
// two processes never deliver the same record at once nor lose an append.
//
//	sp, err := spool.Open(dir)
//	…
//	key := client.NewIdempotencyKey()
//	in.Time = time.Now() // the step's own time, kept for a late delivery
//	if _, err := c.RecordWithKey(ctx, key, in); client.IsTemporary(err) {
//		_, err = sp.Append(ctx, spool.Entry{Key: key, Server: c.BaseURL(), Input: in})
//	}
//	…
//	res, err := sp.Deliver(ctx, c) // later: on the next run, or from a timer
package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// File names inside a spool directory.
const (
	FileName         = "spool.ndjson"    // records waiting for delivery
	RejectedFileName = "rejected.ndjson" // records the server refused for good
	lockName         = "spool.lock"
)

// ErrBusy is returned by TryDeliver when another process holds the spool.
var ErrBusy = errors.New("spool: in use by another process")

var errLocked = errors.New("locked")

// lockPoll is how often a waiting call retries the lock.
const lockPoll = 20 * time.Millisecond

// rewriteEvery is how often delivery writes the spool file anew without
// the records delivered meanwhile.
const rewriteEvery = 250 * time.Millisecond

// Entry is one record waiting for delivery.
type Entry struct {
	Key       string          `json:"key"`    // the Idempotency-Key of every attempt
	Server    string          `json:"server"` // the base URL it is for (client.BaseURL), kept without user or password
	Input     model.StepInput `json:"input"`  // with the step's own time set
	SpooledAt time.Time       `json:"spooled_at"`
}

// Spool is a spool directory. Its methods are safe for concurrent use by
// goroutines and processes.
type Spool struct {
	dir string
}

// Open returns the spool in dir, creating the directory (mode 0700: the
// records name people) if needed.
func Open(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &Spool{dir: dir}, nil
}

// Path returns the spool file's path.
func (s *Spool) Path() string { return filepath.Join(s.dir, FileName) }

// RejectedPath returns the path of the file of records the server refused.
func (s *Spool) RejectedPath() string { return filepath.Join(s.dir, RejectedFileName) }

// Append adds e at the end of the spool and returns once it is on disk. It
// returns the number of entries now in the spool. It fills e.SpooledAt when
// zero; e.Key, e.Server and e.Input.Time must be set. A user and password
// in e.Server (basic auth for a proxy) are not written: see serverKey.
func (s *Spool) Append(ctx context.Context, e Entry) (pending int, err error) {
	if e.Key == "" || e.Server == "" || e.Input.Time.IsZero() {
		return 0, errors.New("spool: an entry needs a key, a server and a time")
	}
	if e.SpooledAt.IsZero() {
		e.SpooledAt = time.Now().UTC()
	}
	e.Server = serverKey(e.Server)
	line, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	unlock, err := s.lock(ctx, true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := appendLine(s.Path(), line); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	entries, _, err := s.read()
	return len(entries), err
}

// Entries returns the entries waiting for delivery, oldest first.
func (s *Spool) Entries(ctx context.Context) ([]Entry, error) {
	unlock, err := s.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, _, err := s.read()
	return entries, err
}

// Result says what a delivery did.
type Result struct {
	Delivered int         // entries the server acknowledged, now removed
	Rejected  []Rejection // entries the server refused for good, moved to RejectedPath
	Dropped   int         // unreadable lines (torn writes) removed
	Remaining int         // entries still waiting, for this server or others
	// Others counts the entries still waiting for other servers than the
	// client's, by base URL, so that a caller can name them.
	Others map[string]int
}

// Rejection is an entry the server refused for good.
type Rejection struct {
	Entry Entry
	Err   error
}

// Deliver sends the entries for c's server, oldest first, and removes from
// the file those the server acknowledged, every quarter second and when it
// returns (one left by a crash is sent again under its key: a replay). It
// waits for a process that holds the spool. It stops at the first entry that
// fails for a reason that may pass (the server is down, or refuses the
// token) and returns that error with the entry kept. An entry whose key the
// server already holds with another payload (422 naming the Idempotency-Key:
// an attempt before it was spooled was stored) counts as delivered. Entries
// the server refuses for good (400, 413, any other 422) are moved to the
// rejected file and reported in the Result. Entries for other servers stay.
func (s *Spool) Deliver(ctx context.Context, c *client.Client) (Result, error) {
	return s.deliver(ctx, c, true)
}

// TryDeliver is Deliver, except that it returns ErrBusy at once when
// another process holds the spool (and is delivering it).
func (s *Spool) TryDeliver(ctx context.Context, c *client.Client) (Result, error) {
	return s.deliver(ctx, c, false)
}

func (s *Spool) deliver(ctx context.Context, c *client.Client, wait bool) (res Result, err error) {
	unlock, err := s.lock(ctx, wait)
	if err != nil {
		return res, err
	}
	defer unlock()
	entries, dropped, err := s.read()
	if err != nil {
		return res, err
	}
	res.Dropped = dropped
	if dropped > 0 {
		// Rewrite now so a torn tail cannot glue itself to a later append.
		if err := s.rewrite(entries); err != nil {
			return res, err
		}
	}
	// Delivered records leave the file at most every rewriteEvery, and
	// when delivery stops, not one by one: rewriting the whole file after
	// each made a spool of 5,000 records take 1m44s to flush, most of it
	// spent writing 2.5 GB of spool. A crash in between leaves delivered
	// records in the file; sent again under their keys, they are replays,
	// not second rows (keys are kept as long as their steps).
	var (
		failure     error
		kept        []Entry // entries before i that stay: other servers'
		i           int
		removed     bool
		lastRewrite = time.Now()
	)
	remaining := func() []Entry { return append(slices.Clip(kept), entries[i:]...) }
	flush := func() error {
		if !removed {
			return nil
		}
		removed, lastRewrite = false, time.Now()
		return s.rewrite(remaining())
	}
	defer func() {
		if rerr := flush(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	server := serverKey(c.BaseURL())
	for i < len(entries) {
		e := entries[i]
		rejected := false
		if e.Server != server {
			kept = append(kept, e)
			i++
			continue
		}
		_, err := c.RecordWithKey(ctx, e.Key, e.Input)
		var apiErr *client.APIError
		errors.As(err, &apiErr)
		var local *model.Error
		if apiErr == nil {
			errors.As(err, &local) // refused before sending: a corrupt entry
		}
		switch {
		case err == nil:
			res.Delivered++
		case keyStored(apiErr):
			// The key is already stored with another payload: an attempt
			// before the record was spooled reached the server (and had no
			// explicit time). The record is there; do not store it again.
			res.Delivered++
		case apiErr != nil && (model.Rejected(apiErr.Code) || apiErr.Code == model.EUNPROCESSABLE),
			local != nil && model.Rejected(local.Code):
			// Refused for good: invalid, too large, or a 422 other than
			// the key's (a deployment full of steps), which would refuse
			// it again on every delivery and hold up the records after it.
			if err := s.reject(e, err); err != nil {
				return res, err
			}
			res.Rejected = append(res.Rejected, Rejection{Entry: e, Err: err})
			rejected = true
		default:
			failure = fmt.Errorf("spooled record %s: %w", describe(e.Input), err)
		}
		if failure != nil {
			break
		}
		i++
		removed = true
		if rejected || time.Since(lastRewrite) >= rewriteEvery {
			// A rejected record leaves at once: sent again, it would be
			// rejected, and written to the rejected file, twice.
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	left := remaining()
	res.Remaining = len(left)
	for _, e := range left {
		if e.Server != server {
			if res.Others == nil {
				res.Others = map[string]int{}
			}
			res.Others[e.Server]++
		}
	}
	return res, failure
}

// serverKey is a server's base URL as the spool keeps it and matches it:
// without the user and password of basic auth. The spool is a file at
// rest, outlives the deploy that wrote it and is copied with home
// directories and CI caches; a record is delivered with the credentials of
// the call that delivers it (stepsctl flush --server URL), as the token
// is, which is never written either.
func serverKey(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.User == nil {
		return server
	}
	u.User = nil
	return u.String()
}

// describe names a record in a message as a person knows it (the key
// means nothing to them): "api 1.2.0 build in production at 2026-03-02
// 08:00:00 UTC".
func describe(in model.StepInput) string {
	s := in.Component + " " + in.Version + " " + in.Status
	if in.Environment != "" {
		s += " in " + in.Environment
	}
	return s + " at " + model.FormatSpreadsheetTime(in.Time) + " UTC"
}

// keyStored reports whether the server refused a record because its
// idempotency key is stored with another payload (422 naming the key), as
// opposed to any other 422, which refuses the record itself.
func keyStored(apiErr *client.APIError) bool {
	return apiErr != nil && apiErr.Code == model.EUNPROCESSABLE && apiErr.Field == "Idempotency-Key"
}

// lock takes the spool's lock, polling until ctx is done when wait is set.
func (s *Spool) lock(ctx context.Context, wait bool) (unlockFn func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for {
		err = tryLock(f)
		if err == nil {
			return func() {
				_ = unlock(f)
				f.Close()
			}, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("spool: lock %s: %w", f.Name(), err)
		}
		if !wait {
			f.Close()
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("spool: waiting for another process to release %s: %w", s.dir, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// read parses the spool file. Lines that do not parse, such as the last
// line of a write cut short by a crash, are counted and skipped.
func (s *Spool) read() (entries []Entry, dropped int, err error) {
	data, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil || e.Key == "" || e.Server == "" {
			dropped++
			continue
		}
		// A spool written before serverKey kept the password: the next
		// rewrite leaves it out.
		e.Server = serverKey(e.Server)
		entries = append(entries, e)
	}
	return entries, dropped, nil
}

// rewrite replaces the spool file with entries, atomically: a crash leaves
// either the old file or the new one.
func (s *Spool) rewrite(entries []Entry) error {
	if len(entries) == 0 {
		if err := os.Remove(s.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		return syncDir(s.dir)
	}
	var buf bytes.Buffer
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	tmp := s.Path() + ".tmp"
	if err := writeFileSync(tmp, buf.Bytes()); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, s.Path()); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

// reject appends e with the server's refusal to the rejected file, for a
// person to look at.
func (s *Spool) reject(e Entry, cause error) error {
	line, err := json.Marshal(struct {
		Entry
		Error      string    `json:"error"`
		RejectedAt time.Time `json:"rejected_at"`
	}{e, cause.Error(), time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := appendLine(s.RejectedPath(), line); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// appendLine appends line and a newline to the file at path and fsyncs it.
// If the file ends in a torn line (no final newline), a newline goes first
// so that the new line stays whole.
func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var buf []byte
	if st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			buf = append(buf, '\n')
		}
	}
	buf = append(append(buf, line...), '\n')
	if _, err := f.Write(buf); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if st.Size() == 0 {
		// A new file: make its directory entry durable too.
		return syncDir(filepath.Dir(path))
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that a created, renamed or removed entry
// survives a crash. Systems that cannot sync a directory (Windows) are
// left to their own guarantees.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !isUnsupported(err) {
		return fmt.Errorf("spool: sync %s: %w", dir, err)
	}
	return nil
}
