// Package backoff is the one retry schedule of the agent: an exponential delay with
// jitter, and a loop that retries until success or the end of a context. Every
// process uses it, for ACS reconnects, registration, state-change delivery, Docker
// event streams, pulls and bus set-up alike, so that how long a retry waits is decided
// in one place and read the same way everywhere.
//
//	attempt ──fail──▶ wait Min ──fail──▶ wait Min×Factor ──▶ … ──▶ wait Max, Max, …
//	each wait plus a random 0–Jitter fraction of it
package backoff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff describes a schedule. The zero value is not useful; fill every field or
// start from one of the named schedules.
type Backoff struct {
	Min    time.Duration // first wait
	Max    time.Duration // no wait is longer (before jitter)
	Factor float64       // growth per failure; values below 1 count as 1
	Jitter float64       // up to this fraction of each wait is added at random
}

// Fast is the schedule for calls between the agent's own processes (bus set-up, a
// command whose responder went away): a neighbour that restarts is back within a
// second or two, so waits stay short.
var Fast = Backoff{Min: 100 * time.Millisecond, Max: time.Second, Factor: 2, Jitter: 0.2}

// Schedule walks a Backoff; it is owned by one goroutine.
type Schedule struct {
	b   Backoff
	cur time.Duration
}

// Start returns a schedule at its first wait.
func (b Backoff) Start() *Schedule {
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Factor < 1 {
		b.Factor = 1
	}
	return &Schedule{b: b, cur: b.Min}
}

// Next returns the wait before the next attempt and grows the one after.
func (s *Schedule) Next() time.Duration {
	d := s.cur
	s.cur = min(time.Duration(float64(s.cur)*s.b.Factor), s.b.Max)
	return AddJitter(d, time.Duration(float64(d)*s.b.Jitter))
}

// Reset starts the schedule again from its first wait.
func (s *Schedule) Reset() { s.cur = s.b.Min }

// AddJitter returns d plus a random duration in [0, j).
func AddJitter(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d + rand.N(j)
}

// Sleep waits d or until ctx ends; it reports whether the whole wait passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Retry calls fn until it returns nil, fn's error says stop (errors wrapped by
// Permanent), or ctx ends, waiting by b between attempts. It returns the last error
// of fn, wrapped with ctx's when ctx ended first.
func Retry(ctx context.Context, b Backoff, fn func(context.Context) error) error {
	s := b.Start()
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if p, ok := err.(permanent); ok {
			return p.err
		}
		if !Sleep(ctx, s.Next()) {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
	}
}

// Permanent marks an error that Retry must return at once instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }
