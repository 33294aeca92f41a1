package session

import (
	"math/rand/v2"
	"time"
)

// backoff is an exponential delay with up to jitter (a fraction) added on top.
// It is owned by one goroutine.
type backoff struct {
	min, max time.Duration
	factor   float64
	jitter   float64
	cur      time.Duration
}

func newBackoff(min, max time.Duration, factor, jitter float64) *backoff {
	return &backoff{min: min, max: max, factor: factor, jitter: jitter, cur: min}
}

// next returns the delay to wait now and grows the following one.
func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = time.Duration(float64(b.cur) * b.factor)
	if b.cur > b.max {
		b.cur = b.max
	}
	return addJitter(d, time.Duration(float64(d)*b.jitter))
}

// reset starts again from the minimum.
func (b *backoff) reset() { b.cur = b.min }

// addJitter returns d plus a random duration in [0, j).
func addJitter(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d + rand.N(j)
}
