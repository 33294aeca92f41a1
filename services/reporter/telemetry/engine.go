package telemetry

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/ecs-agent/ecs-agent/bus"
)

// BusEngine asks dockerexec over the bus.
type BusEngine struct{ Conn *nats.Conn }

var _ Engine = BusEngine{}

// Ping asks dockerexec to ping Docker.
func (e BusEngine) Ping(ctx context.Context) error {
	_, err := bus.Call[bus.PingRequest, bus.PingReply](ctx, e.Conn, bus.SubjectDockerPing, bus.PingRequest{})
	return err
}

// Version reads the engine's version from dockerexec's service info.
func (e BusEngine) Version(ctx context.Context) (string, error) {
	return bus.DockerEngineVersion(ctx, e.Conn)
}
