package outbox

import (
	"time"

	"github.com/ecs-agent/ecs-agent/bus/backoff"
)

// DefaultBackoff is the real agent's task-handler backoff (PROTOCOL.md §4.6): 1 s ×1.3
// up to 30 s, plus up to 20 % jitter, forever.
var DefaultBackoff = backoff.Backoff{Min: time.Second, Max: 30 * time.Second, Factor: 1.3, Jitter: 0.2}

// withDefaults fills the zero fields of b from DefaultBackoff.
func withDefaults(b backoff.Backoff) backoff.Backoff {
	d := DefaultBackoff
	if b.Min > 0 {
		d.Min = b.Min
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
	return d
}
