package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

func ent(seq uint64, task string) *entry {
	return &entry{seq: seq, change: bus.TaskStateChange{TaskArn: task}}
}

func TestQueueOneWorkerPerTaskAndTurns(t *testing.T) {
	q := newQueue()
	for i, task := range []string{"a", "a", "b", "a", "c"} {
		if !q.add(ent(uint64(i+1), task)) {
			t.Fatalf("add %d refused", i+1)
		}
	}
	if q.add(ent(2, "a")) {
		t.Error("a redelivery must not be queued twice")
	}
	// Three tasks are ready; a's head is seq 1.
	e1, e2, e3 := q.next(), q.next(), q.next()
	if e1.seq != 1 || e2.seq != 3 || e3.seq != 5 {
		t.Fatalf("first round = %d %d %d, want 1 3 5", e1.seq, e2.seq, e3.seq)
	}
	// Nothing more is ready while a, b and c are busy, even though a has more.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stop := q.closeOn(ctx)
	defer stop()
	if e := q.next(); e != nil {
		t.Fatalf("got %d while every task is busy", e.seq)
	}
	q2 := newQueue()
	for _, e := range []*entry{ent(1, "a"), ent(2, "a"), ent(3, "b"), ent(4, "a")} {
		q2.add(e)
	}
	var order []uint64
	for q2.len() > 0 {
		e := q2.next()
		order = append(order, e.seq)
		q2.finish(e)
	}
	if got := order; len(got) != 4 || got[0] != 1 || got[1] != 3 || got[2] != 2 || got[3] != 4 {
		t.Errorf("order = %v, want [1 3 2 4]: per task FIFO, tasks take turns", got)
	}
}

func TestBackoff(t *testing.T) {
	s := DefaultBackoff.Start()
	base := []time.Duration{time.Second, 1300 * time.Millisecond, 1690 * time.Millisecond}
	for i, b := range base {
		d := s.Next()
		if d < b || d > b+b/5 {
			t.Errorf("attempt %d: %v not within [%v, %v]", i+1, d, b, b+b/5)
		}
	}
	for range 30 {
		s.Next()
	}
	if d := s.Next(); d < 30*time.Second || d > 36*time.Second {
		t.Errorf("capped wait %v, want 30s + up to 20%%", d)
	}
}
