package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecs-agent/ecs-agent/bus"
)

// entry is one outbox message held in memory until its ack is confirmed.
type entry struct {
	seq    uint64    // stream sequence: identifies the message across redeliveries
	stored time.Time // when JetStream stored it, for the delivery latency
	change bus.TaskStateChange
	msg    jetstream.Msg // latest delivery; guarded by queue.mu
}

// taskFIFO is one task's pending reports, oldest first.
type taskFIFO struct {
	entries []*entry
	busy    bool // a worker is delivering the head
}

// queue holds the messages of one generation: a FIFO per task, the tasks ready for
// a worker, and every held message by stream sequence. A task is either in ready or
// busy, never both, so one task's reports are delivered by one worker at a time.
type queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	tasks map[string]*taskFIFO
	ready []string
	held  map[uint64]*entry
	done  bool
}

func newQueue() *queue {
	q := &queue{tasks: map[string]*taskFIFO{}, held: map[uint64]*entry{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues e at the tail of its task. A redelivery of a message already held only
// refreshes its delivery handle; it reports false then.
func (q *queue) add(e *entry) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if old, ok := q.held[e.seq]; ok {
		old.msg = e.msg
		return false
	}
	q.held[e.seq] = e
	f := q.tasks[e.change.TaskArn]
	if f == nil {
		f = &taskFIFO{}
		q.tasks[e.change.TaskArn] = f
	}
	f.entries = append(f.entries, e)
	if !f.busy && len(f.entries) == 1 {
		q.ready = append(q.ready, e.change.TaskArn)
		q.cond.Signal()
	}
	return true
}

// next blocks until a task is ready and returns the head of its FIFO, marking the
// task busy. It returns nil once the queue is closed.
func (q *queue) next() *entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.done {
		q.cond.Wait()
	}
	if q.done {
		return nil
	}
	task := q.ready[0]
	q.ready = q.ready[1:]
	f := q.tasks[task]
	f.busy = true
	return f.entries[0]
}

// finish removes e, the head of its task, once its ack is confirmed. A task with
// more reports goes to the back of the ready list, so busy tasks take turns.
func (q *queue) finish(e *entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.held, e.seq)
	task := e.change.TaskArn
	f := q.tasks[task]
	f.entries = f.entries[1:]
	f.busy = false
	if len(f.entries) == 0 {
		delete(q.tasks, task)
		return
	}
	q.ready = append(q.ready, task)
	q.cond.Signal()
}

// msg returns the latest delivery of e.
func (q *queue) msg(e *entry) jetstream.Msg {
	q.mu.Lock()
	defer q.mu.Unlock()
	return e.msg
}

// deliveries returns the latest delivery of every held message.
func (q *queue) deliveries() []jetstream.Msg {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]jetstream.Msg, 0, len(q.held))
	for _, e := range q.held {
		out = append(out, e.msg)
	}
	return out
}

// len is the number of held messages.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.held)
}

// closeOn wakes every waiting worker when ctx ends.
func (q *queue) closeOn(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.done = true
		q.cond.Broadcast()
		q.mu.Unlock()
	})
}
