package outbox

import (
	"math/rand/v2"
	"time"
)

// Backoff is the retry schedule of a failed submission: Initial, multiplied by
// Factor after each failure up to Max, plus a random 0 to Jitter fraction.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
	Jitter  float64
}

// DefaultBackoff is the real agent's task-handler backoff (PROTOCOL.md §4.6).
var DefaultBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second, Factor: 1.3, Jitter: 0.2}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff
	if b.Initial > 0 {
		d.Initial = b.Initial
	}
	if b.Max > 0 {
		d.Max = b.Max
	}
	if b.Factor >= 1 {
		d.Factor = b.Factor
	}
	if b.Jitter > 0 {
		d.Jitter = b.Jitter
	}
	if d.Max < d.Initial {
		d.Max = d.Initial
	}
	return d
}

// backoffState walks one message's schedule.
type backoffState struct {
	b    Backoff
	next time.Duration
}

func (b Backoff) start() *backoffState {
	b = b.withDefaults()
	return &backoffState{b: b, next: b.Initial}
}

// Next returns the wait before the next attempt and advances the schedule.
func (s *backoffState) Next() time.Duration {
	d := s.next
	s.next = time.Duration(float64(s.next) * s.b.Factor)
	if s.next > s.b.Max {
		s.next = s.b.Max
	}
	return d + time.Duration(rand.Float64()*s.b.Jitter*float64(d))
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctxDone <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctxDone:
		return false
	case <-t.C:
		return true
	}
}
