// Package client is the Go client of the stepsd HTTP API: it records the
// steps of deploys and lists them back, with the types of pkg/model.
//
// Make a client, record a step, list steps:
//
//	c, err := client.New("http://localhost:8080", client.WithToken(os.Getenv("STEPS_TOKEN")))
//	if err != nil {
//		return err
//	}
//	step, err := c.Record(ctx, model.StepInput{
//		Component: "api", Version: "1.2.0", Owner: "ana", Status: "build",
//	})
//	if err != nil {
//		return err
//	}
//	fmt.Println("stored step", step.ID, "at", step.Time)
//
//	steps, err := c.List(ctx, model.Filter{Component: "api", Since: time.Now().Add(-7 * 24 * time.Hour)})
//
// List holds every matching step in memory; for long lists, range over the
// iterator, which fetches one page at a time:
//
//	for step, err := range c.Steps(ctx, model.Filter{Environment: "production"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(step.Component, step.Version, step.Status, step.Time)
//	}
//
// # Following new steps
//
// Lists are ordered by the steps' times, not by when they were stored. A
// step's time is its receipt time (or the time it carries), taken before
// its write commits, so under concurrent writes a step can be stored just
// after a later one has been listed; and a step delivered late (from a
// spool, after an outage) carries its own, earlier time. A poller that
// asks only for what comes after the last step it saw
// (Filter.After = model.CursorAfter(last)) misses such steps: 1 in about
// 4,000 with 16 writers on SQLite. Poll with an overlap instead, drop
// the ids already seen, and forget those older than the overlap, which no
// later poll lists again (kept, they grew without end):
//
//	const overlap = time.Minute
//	newest := time.Now() // or where the last run stopped; not a zero time, which the server refuses
//	seen := map[int64]time.Time{}
//	for {
//		for step, err := range c.Steps(ctx, model.Filter{Since: newest.Add(-overlap)}) {
//			if err != nil {
//				return err
//			}
//			if _, ok := seen[step.ID]; ok {
//				continue
//			}
//			seen[step.ID] = step.Time
//			if step.Time.After(newest) {
//				newest = step.Time
//			}
//			…
//		}
//		for id, at := range seen {
//			if at.Before(newest.Add(-overlap)) {
//				delete(seen, id)
//			}
//		}
//		time.Sleep(10 * time.Second)
//	}
//
// (ExampleClient_Steps_follow runs it.)
// A step delivered more than the overlap late is found only by a later
// full listing (an export) of its time range.
//
// # Deploys and their trend
//
// The server groups steps into deployments (see model.Deployment) and
// measures them. Deployments iterates over them page by page, as Steps does
// over steps; Stats returns durations per bucket, the slowest steps, the
// robust growth rate with its interval and the steps to blame; Changes the
// moments deploy time shifted and the steps that moved; DORA the four keys
// with their bands (a figure that cannot be computed is nil); WriteStats,
// WriteChanges and WriteDORA copy the server's own JSON or CSV of the same:
//
//	for d, err := range c.Deployments(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api"}}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(d.Version, d.Outcome, model.HumanDuration(d.DurationSeconds))
//	}
//	st, err := c.Stats(ctx, model.Filter{Component: "api"}, model.StatsOptions{Bucket: model.BucketSprint})
//	fmt.Println(st.Summary, st.Trend.Direction, st.Trend.Blame)
//	cs, err := c.Changes(ctx, model.Filter{Component: "api"}, model.ChangesOptions{})
//	for _, ch := range cs.Changes {
//		fmt.Println(ch.Time, ch.Version, ch.ChangePercent)
//	}
//	dora, err := c.DORA(ctx, model.Filter{Component: "api"}, model.DORAOptions{Bucket: model.BucketMonth})
//	fmt.Println(dora.Overall.Bands.DeploymentFrequency, dora.Overall.Bands.LeadTime)
//
// # Dates in a filter
//
// A Filter's Since at 00:00:00 and Until at 23:59:59.999999, both in
// time.UTC (what model.ParseSince and model.ParseUntil make of a date such
// as "2026-04-06"), are sent as that date, as a StatsOptions.SprintStart at
// 00:00 in time.UTC is: the server reads it as that day in the calendar's
// time zone (the request's Location, else the server's --timezone), so a
// date means the team's day, and on a server in UTC the same instants as
// before. Any other time, and the same instant in another *time.Location
// (time.FixedZone("UTC", 0), the caller's local zone), is sent as the
// instant it is; stepsctl sends spans and datetimes so:
//
//	day, _, _ := model.ParseTime("2026-04-06")
//	f := model.Filter{Since: day}                        // Monday 2026-04-06 in the team's zone
//	f = model.Filter{Since: day.In(time.FixedZone("UTC", 0))} // 00:00 UTC that day, wherever the team is
//
// Lead time for changes needs the commit a deploy ships: set Revision and
// CommittedAt on the StepInput (stepsctl record reads them from git):
//
//	in := model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "build",
//		Revision: "9f1c2e7d4b3a", CommittedAt: commitTime}
//
// RecordBatch stores many steps at once, all or nothing, keeping their
// times; SendBatch does it under a key of the caller's and says whether the
// server had already stored that batch (BatchResult.Replayed), which is how
// stepsctl import can be run again without storing anything twice.
// SendBatchWith and BatchOptions{Dedupe: true} also skip the rows identical
// to stored steps (BatchResult.Skipped): an overlapping export imported
// again is not stored twice.
//
// # Retries and idempotency
//
// Every call is retried on connection errors and on answers whose code
// model.Retryable accepts (429, and 408, 502, 503 and 504: rate limited, or
// out of reach), with exponential backoff and jitter, honouring Retry-After and
// bounded by a RetryPolicy (see WithRetry) and by the context. Record sends
// an Idempotency-Key that stays the same across its retries, so a retry after
// a response lost on the way back returns the step stored the first time
// instead of storing it twice.
//
// A step sent without a time takes the server's receipt time. When
// Record's (or RecordBatch's) first attempt cannot even connect (connection
// refused, no route, a name that does not resolve: the server is down or
// restarting), its retries carry that attempt's moment as the step's time,
// on this machine's clock, so a step that gets through 20 seconds later is
// not stored 20 seconds late. An attempt that may have reached the server
// (a timeout, a broken connection, any answer) settles the request: the
// retries send it as it was, since the key's stored step must match it.
// A time the server refuses (this machine's clock minutes ahead of its) is
// taken back: nothing was stored, and the step is sent as given.
// RecordWithKey and the batch calls that take a key send their input as
// given: the caller may send it again under that key. To resend a step
// later (from a queue, after an outage), keep its key and its time and
// call RecordWithKey:
//
//	key := client.NewIdempotencyKey()
//	in := model.StepInput{Component: "api", Version: "1.2.0", Owner: "ana", Status: "rollout", Time: time.Now()}
//	_, err := c.RecordWithKey(ctx, key, in) // safe to repeat with the same key and input
//
// Package spool (pkg/client/spool) keeps such records on disk until they are
// delivered; stepsctl record uses it.
//
// # Errors
//
// A call fails with one of:
//
//   - *APIError: the server answered with an error status. It carries the
//     status, the code (model.EINVALID, model.ENOTFOUND, …), the message and
//     the offending field, and unwraps to a *model.Error with the same code,
//     so model.ErrorCode(err) works on it. FromAPI tells the API's own
//     answer from another server's page at that URL: a 404 without it is a
//     wrong URL, not a missing step. A 404 with code model.ENOENDPOINT is
//     stepsd's own answer to a path it has no route for (a prefix too
//     many in the URL, or a server older than the call).
//   - *NetError: no response arrived after all attempts (server down,
//     connection broken, timeout). A write's outcome is unknown; resending it
//     with the same idempotency key is safe.
//   - *ProtocolError: a 2xx answer that is not the API's (a proxy's or a
//     login portal's page), so its outcome is unknown as a *NetError's.
//   - the context's error (errors.Is(err, context.DeadlineExceeded)), when
//     ctx was cancelled or ran out. It also wraps the last attempt's
//     *NetError or *APIError, for errors.As: a write cut short by the
//     caller's deadline may have been stored or not, as after a *NetError,
//     and IsTemporary says so. Steps and Deployments check ctx before each
//     item too: stopped between two items of a page in hand, they end
//     with the context's error alone (no attempt failed; IsTemporary is
//     false).
//   - *model.Error with code model.EINVALID, when the client refuses a
//     request before sending it: a filter the server would refuse (Until
//     before Since, a Limit over model.MaxLimit for one page with ListPage
//     or DeploymentsPage, a step cursor in a DeploymentFilter's Filter),
//     a malformed idempotency key, stats options out of range (or a
//     Location of time.Local, whose name the server cannot load), a step's
//     text that is not valid UTF-8 (JSON cannot carry it; sent, its bad
//     bytes would arrive as U+FFFD and be stored so; for a batch, a
//     *model.BatchError listing the rows, which unwraps to an EINVALID
//     *model.Error). (List,
//     Steps and their deployment twins take any Limit as a cap on the
//     total, and fetch as many pages as it needs.) It names the field, as an *APIError
//     does; model.ErrorCode(err) reads both alike.
//
// IsTemporary tells the failures worth trying again later (no response,
// an answer not the API's, or model.Temporary: 408, 429, 5xx) from those
// that will fail again (other 4xx). The classes (model.Retryable,
// Temporary, Rejected, AuthRefused) go by the error's code, so the retry,
// the spool and stepsctl agree.
package client
