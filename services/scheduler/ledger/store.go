package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// Store keeps grants in the ledger bucket, one key per task (bus.TaskKey).
type Store struct {
	KV jetstream.KeyValue
}

// Save stores a grant; the task may use it once Save returned.
func (s Store) Save(ctx context.Context, g Grant) error {
	if err := bus.PutJSON(ctx, s.KV, bus.TaskKey(g.TaskArn), g); err != nil {
		return fmt.Errorf("saving grant of %s: %w", g.TaskArn, err)
	}
	return nil
}

// Delete forgets a task's grant; a missing grant is not an error.
func (s Store) Delete(ctx context.Context, arn string) error {
	if err := s.KV.Delete(ctx, bus.TaskKey(arn)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("deleting grant of %s: %w", arn, err)
	}
	return nil
}

// Load returns every stored grant.
func (s Store) Load(ctx context.Context) ([]Grant, error) {
	lister, err := s.KV.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing grants: %w", err)
	}
	defer lister.Stop()
	var out []Grant
	for key := range lister.Keys() {
		var g Grant
		if err := bus.GetJSON(ctx, s.KV, key, &g); err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			return nil, fmt.Errorf("loading grant %s: %w", key, err)
		}
		out = append(out, g)
	}
	return out, nil
}
