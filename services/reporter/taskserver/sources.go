package taskserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecs-agent/ecs-agent/bus"
)

// BucketCredentials reads credentials from BucketCredentials, opening them with the
// bus's keyring.
type BucketCredentials struct {
	KV      jetstream.KeyValue
	Keyring *bus.Keyring
}

var _ Credentials = BucketCredentials{}

// Credentials implements Credentials.
func (b BucketCredentials) Credentials(ctx context.Context, id string) (bus.RoleCredentials, error) {
	rc, err := bus.GetRoleCredentials(ctx, b.KV, b.Keyring, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rc, fmt.Errorf("credentials: %w", ErrNotFound)
	}
	return rc, err
}

// DockerStats asks dockerexec for stats over the bus.
type DockerStats struct {
	Conn *nats.Conn
}

var _ Stats = DockerStats{}

// ContainerStats implements Stats.
func (d DockerStats) ContainerStats(ctx context.Context, taskArn, container string) (json.RawMessage, error) {
	rep, err := bus.Call[bus.StatsRequest, bus.StatsReply](ctx, d.Conn, bus.SubjectDockerStats,
		bus.StatsRequest{ContainerRef: bus.ContainerRef{TaskArn: taskArn, ContainerName: container}})
	if err != nil {
		return nil, err
	}
	return rep.DockerStats, nil
}
