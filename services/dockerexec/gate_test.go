package dockerexec

import (
	"context"
	"sync"
	"testing"
	"time"
)

func queuedLen(g *gate, prio int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting[prio])
}

// Waiters are served most urgent first, in arrival order within a priority, one at a
// time for one slot; a waiter whose context ends leaves the queue.
func TestGateOrder(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, prioCreate); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	running := 0
	var wg sync.WaitGroup
	enqueue := func(name string, prio int) {
		n := queuedLen(g, prio)
		wg.Go(func() {
			_ = g.through(ctx, prio, func() error {
				mu.Lock()
				running++
				if running > 1 {
					t.Errorf("%s ran with %d holding the one slot", name, running)
				}
				order = append(order, name)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				return nil
			})
		})
		for queuedLen(g, prio) == n {
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("remove", prioRemove)
	enqueue("create1", prioCreate)
	enqueue("start1", prioStart)
	enqueue("create2", prioCreate)
	enqueue("start2", prioStart)

	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- g.acquire(cctx, prioStart) }()
	for queuedLen(g, prioStart) != 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("acquire succeeded after its context ended")
	}
	if n := queuedLen(g, prioStart); n != 2 {
		t.Fatalf("%d starts queued after one gave up, want 2", n)
	}

	g.release()
	wg.Wait()
	want := []string{"start1", "start2", "create1", "create2", "remove"}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if g.free != 1 {
		t.Errorf("free slots %d after all released, want 1", g.free)
	}
}
