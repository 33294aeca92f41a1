package scheduler

import (
	"context"
	"sync"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/scheduler/ledger"
)

// admission serialises the ledger and makes each of its decisions durable before
// anyone acts on it: a grant is stored before Reserve returns it, and a release is
// stored before the tasks it admits hear of it. Callers are the desired-task
// handler, the start-up path and the runners; the store calls may block while the
// bus is away, holding the lock, which only delays other admissions.
type admission struct {
	mu    sync.Mutex
	book  *ledger.Ledger
	store ledger.Store
}

func (a *admission) reserve(ctx context.Context, arn string, d ledger.Demand) (ledger.Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, had := a.book.Granted(arn)
	g, err := a.book.Reserve(arn, d)
	if err != nil || had {
		return g, err
	}
	if err := bus.Retry(ctx, func(ctx context.Context) error { return a.store.Save(ctx, g) }); err != nil {
		a.book.Release(arn)
		return ledger.Grant{}, err
	}
	return g, nil
}

// adopt grants a task whose containers already run; see ledger.Adopt.
func (a *admission) adopt(ctx context.Context, arn string, d ledger.Demand) (ledger.Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, conflict := a.book.Adopt(arn, d)
	if err := bus.Retry(ctx, func(ctx context.Context) error { return a.store.Save(ctx, g) }); err != nil {
		a.book.Release(arn)
		return ledger.Grant{}, err
	}
	return g, conflict
}

// shortfall says what a waiting task lacks; see ledger.Shortfall.
func (a *admission) shortfall(arn string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.book.Shortfall(arn)
}

// queued reports whether a task waits in the ledger's queue.
func (a *admission) queued(arn string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.book.Queued(arn)
}

func (a *admission) granted(arn string) (ledger.Grant, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.book.Granted(arn)
}

// release returns the grants of the tasks the release admitted, already stored.
func (a *admission) release(ctx context.Context, arn string) ([]ledger.Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := bus.Retry(ctx, func(ctx context.Context) error { return a.store.Delete(ctx, arn) }); err != nil {
		return nil, err
	}
	admitted := a.book.Release(arn)
	for _, g := range admitted {
		if err := bus.Retry(ctx, func(ctx context.Context) error { return a.store.Save(ctx, g) }); err != nil {
			return nil, err
		}
	}
	return admitted, nil
}
