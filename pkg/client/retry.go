package client

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how long a request is retried after a
// connection error or a 408, 429, 502, 503 or 504 response. Waits grow
// exponentially from BaseDelay, with jitter, up to MaxDelay; a Retry-After
// header lengthens a wait, never shortens it, and such a wait is spread
// over up to half as long again (within MaxElapsed and the context), so
// that clients refused together do not all come back together. Retries
// stop after MaxAttempts attempts, or when the next one could not start
// within MaxElapsed of the first, whichever comes first. The context of
// the call bounds everything. A connection error that the next attempt would meet
// again is not retried: a certificate the client does not trust, or an
// https:// server URL of a server that speaks plain HTTP.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; 1 disables retries
	BaseDelay   time.Duration // wait before the first retry
	MaxDelay    time.Duration // longest single wait
	MaxElapsed  time.Duration // total time for all attempts of one call, waits included
}

// DefaultRetryPolicy is the policy of a Client made without WithRetry: up to
// 5 attempts within 30 seconds. The attempts run out first: the four waits
// between them (about 0.25, 0.5, 1 and 2 s, each less up to half its
// jitter) add up to 2–4 s, which a restart of stepsd can outlast (2.2 s
// unreachable on a loaded host). A program that must ride out restarts
// raises MaxAttempts: 8 waits 9–18 s in all.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts: 5,
	BaseDelay:   250 * time.Millisecond,
	MaxDelay:    5 * time.Second,
	MaxElapsed:  30 * time.Second,
}

// NoRetry returns a policy that sends each request once.
func NoRetry() RetryPolicy {
	return RetryPolicy{MaxAttempts: 1}.withDefaults()
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

// backoff returns the wait after the given failed attempt (1-based):
// BaseDelay·2^(attempt-1), capped at MaxDelay, of which a random half is
// taken off ("equal jitter") so that clients that failed together do not
// come back together.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
