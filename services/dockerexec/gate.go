package dockerexec

import (
	"context"
	"sync"
)

// The engine's heavy calls (create, start, remove) go through a gate of a few slots,
// starts first. A burst of tasks then runs as a pipeline: the first container starts
// as soon as it is created instead of after every create of the burst, and the engine
// is never asked for more at once than its cores get through (on a two-core machine
// twenty concurrent creates take as long as twenty in a row, and all finish last).
// Stops are not gated: they mostly wait out the container's stop timeout.

// Priorities of the gate, most urgent first.
const (
	prioStart  = iota // finishes a task's start
	prioCreate        // begins one
	prioRemove        // cleans up after one
	prioCount
)

type gate struct {
	mu      sync.Mutex
	free    int
	waiting [prioCount][]chan struct{}
}

func newGate(slots int) *gate { return &gate{free: max(slots, 1)} }

// acquire waits for a slot; waiters of a more urgent priority go first, in arrival
// order within one. It fails only when ctx ends first.
func (g *gate) acquire(ctx context.Context, prio int) error {
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiting[prio] = append(g.waiting[prio], ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range g.waiting[prio] {
			if w == ch {
				g.waiting[prio] = append(g.waiting[prio][:i], g.waiting[prio][i+1:]...)
				g.mu.Unlock()
				return ctx.Err()
			}
		}
		g.mu.Unlock()
		g.release() // granted as ctx ended: hand the slot on
		return ctx.Err()
	}
}

// release hands the slot to the most urgent waiter, or frees it.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p := range g.waiting {
		if q := g.waiting[p]; len(q) > 0 {
			g.waiting[p] = q[1:]
			close(q[0])
			return
		}
	}
	g.free++
}

// through runs fn holding a slot of priority prio.
func (g *gate) through(ctx context.Context, prio int, fn func() error) error {
	if err := g.acquire(ctx, prio); err != nil {
		return err
	}
	defer g.release()
	return fn()
}
